"""COCO instances JSON (`images`, `annotations`, `categories`): photos are looked up by
`file_name` relative to the JSON's folder, an images/ folder beside the JSON, or one beside
its folder (the usual annotations/ + images/ export). Segmentations: polygons (lists of
flat x, y lists), uncompressed RLE ({"counts": [ints], "size": [h, w]}, column-major) and
compressed RLE (pycocotools' string). All categories are object except those named hole or
background, which are cut out of the union of the others."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath

from app.engine.core.errors import InputError
from app.training.data.bitmaps import Bitmap
from app.training.data.pairs import Collected, Pair
from app.training.data.photos import group_of, listed_photo, size_problem, stated_size, upright_size
from app.training.data.shapes import CUT, OBJECT, Shape, bitmap, check, flat_points, is_cut, polygon


def is_coco(data: object) -> bool:
    """Whether parsed JSON looks like COCO instances (lists `images` and `annotations`)."""
    return isinstance(data, dict) and isinstance(data.get("images"), list) and isinstance(data.get("annotations"), list)


def read_coco(path: Path, data: dict, seen: set[Path] | None = None) -> Collected:
    """A pair for each image of the COCO JSON `path` (parsed: `data`), and one problem line
    "PATH: FILE_NAME: reason" for each image that cannot be used: photo not found or
    unreadable, no annotation, size differs from the photo's, a malformed segmentation,
    only holes. Annotations of no listed image are one line. Photos found go in `seen`."""
    found = Collected()
    folders = list(dict.fromkeys([path.parent, path.parent / "images", path.parent.parent / "images"]))
    categories = data.get("categories")
    cut_ids = {_key(c.get("id")) for c in categories if isinstance(c, dict) and is_cut(c.get("name"))} \
        if isinstance(categories, list) else set()
    by_image: dict[str, list[dict]] = defaultdict(list)
    for ann in data["annotations"]:
        if isinstance(ann, dict):
            by_image[_key(ann.get("image_id"))].append(ann)
    listed = set()
    for i, image in enumerate(data["images"], 1):
        name = image.get("file_name") if isinstance(image, dict) else None
        if not isinstance(name, str) or "id" not in image:
            found.problems.append(f"{path}: image entry {i} has no id or file_name")
            continue
        listed.add(_key(image["id"]))
        problem, pair = _image(path, image, name, by_image.get(_key(image["id"]), []), folders, cut_ids, seen)
        if problem is not None:
            found.problems.append(problem)
        if pair is not None:
            found.pairs.append(pair)
    orphans = [k for k in by_image if k not in listed]
    if orphans:
        n = sum(len(by_image[k]) for k in orphans)
        found.problems.append(f"{path}: {n} annotation{'s' if n != 1 else ''} of no listed image "
                              f"(image_id {', '.join(str(k) for k in orphans[:5])}{', ...' if len(orphans) > 5 else ''})")
    return found


def _image(path: Path, image: dict, name: str, anns: list[dict], folders: list[Path], cut_ids: set[str],
           seen: set[Path] | None) -> tuple[str | None, Pair | None]:
    """(problem line or None, pair or None) for one entry of `images`."""
    where = f"{path}: {name}"
    photo, problem = listed_photo(where, name, folders, seen)
    if photo is None:
        return problem, None
    if not anns:
        return f"{where}: no annotation", None
    try:
        size = upright_size(photo)
    except InputError as exc:
        return f"{where}: {exc}", None
    stated = stated_size(image.get("width"), image.get("height"))
    if stated is not None and (why := size_problem(stated, size, photo)) is not None:
        return f"{where}: {why}", None
    shapes, errors = _shapes(anns, cut_ids, size)
    if errors:
        return f"{where}: " + "; ".join(errors), None
    objects = [s for s in shapes if s.value == OBJECT]
    if not objects:
        return f"{where}: empty annotation (only hole or background)", None
    ordered = tuple(objects + [s for s in shapes if s.value == CUT])
    group = group_of(PurePosixPath(name.replace("\\", "/")).parent)
    return None, Pair(image=photo, source=str(path), group=group, size=size, shapes=ordered)


def _key(some_id: object) -> str:
    """Image and category ids compared as text, so that 7 and "7" match."""
    return str(some_id)


def _shapes(anns: list[dict], cut_ids: set[str], size: tuple[int, int]) -> tuple[list[Shape], list[str]]:
    shapes: list[Shape] = []
    errors: list[str] = []
    for ann in anns:
        value = CUT if _key(ann.get("category_id")) in cut_ids else OBJECT
        try:
            shapes.extend(segmentation_shapes(ann.get("segmentation"), size, value))
        except (ValueError, TypeError) as exc:
            errors.append(f"annotation {ann.get('id', '?')}: {exc}")
    return shapes, errors


def segmentation_shapes(seg: object, size: tuple[int, int], value: int = OBJECT) -> list[Shape]:
    """The shapes of one COCO `segmentation` on a photo of `size` (w, h): a polygon per
    part, or one full-photo bitmap for an RLE (whose `size` [h, w] must be the photo's).
    ValueError if it is missing or malformed."""
    if isinstance(seg, list):
        if not seg:
            raise ValueError("no segmentation (a box only?)")
        if all(isinstance(v, (int, float)) for v in seg):
            seg = [seg]  # a single flat polygon, not wrapped in a list
        parts = []
        for part in seg:
            if not isinstance(part, list):
                raise ValueError("a polygon that is not a list of coordinates")
            parts.append(polygon(flat_points(part), value))
        return parts
    if not isinstance(seg, dict) or "counts" not in seg:
        raise ValueError("no segmentation (a box only?)" if seg is None else "a segmentation that is "
                         "neither polygons nor RLE")
    rle_size = seg.get("size")
    w, h = size
    if not (isinstance(rle_size, list) and len(rle_size) == 2 and list(rle_size) == [h, w]):
        raise ValueError(f"RLE size {rle_size} is not the photo's [height, width] [{h}, {w}]")
    counts = seg["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise ValueError("RLE counts that are not whole numbers >= 0")
        data: str | tuple[int, ...] = tuple(counts)
    elif isinstance(counts, str):
        data = counts
    else:
        raise ValueError("RLE counts that are neither a list nor a string")
    shape = bitmap(Bitmap("coco", data, (0, 0, w, h)), value)
    check(shape)
    return [shape]
