"""LabelMe annotations: one JSON per photo (`imagePath` relative to the JSON, `imageWidth`,
`imageHeight`, `shapes` of `label`, `shape_type` and `points`).

Used shapes: polygon (also oriented_rectangle), rectangle (two corners; four or more
points: a polygon), circle (centre, then a point on the circle) and mask (LabelMe 5: a
base64 PNG of the box whose top-left corner is the first point; non-zero is object). The
mask is the union of the shapes minus the union of those labelled hole or background."""

from __future__ import annotations

import glob
from pathlib import Path

from app.engine.core.errors import InputError
from app.training.data.bitmaps import Bitmap, png_size
from app.training.data.pairs import Collected, Pair
from app.training.data.photos import find_photo, is_photo, size_problem, stated_size, upright_size
from app.training.data.shapes import CUT, OBJECT, Shape, bitmap, check, circle, is_cut, point_list, polygon, rectangle

POLYGONS = {"polygon", "oriented_rectangle"}
USED = POLYGONS | {"rectangle", "circle", "mask"}


def is_labelme(data: object) -> bool:
    """Whether parsed JSON looks like a LabelMe annotation (an object with a `shapes` list)."""
    return isinstance(data, dict) and isinstance(data.get("shapes"), list)


def read_labelme(path: Path, data: dict, group: str | None = None, seen: set[Path] | None = None) -> Collected:
    """The pair of the LabelMe JSON `path` (parsed: `data`), or one problem line naming it:
    photo not found or unreadable, size differs from the photo's, a malformed shape, no
    object shape ("empty annotation"); shape types not used (line, point, linestrip...)
    are one line too, and the pair is kept without them. The photo found goes in `seen`."""
    found = Collected()
    photo = _photo(path, data)
    if photo is None:
        found.problems.append(f"{path}: photo {data.get('imagePath')!r} not found beside the JSON")
        return found
    if seen is not None:
        seen.add(photo)
    try:
        size = upright_size(photo)
    except InputError as exc:
        found.problems.append(f"{path}: {exc}")
        return found
    stated = stated_size(data.get("imageWidth"), data.get("imageHeight"))
    if stated is not None and (why := size_problem(stated, size, photo)) is not None:
        found.problems.append(f"{path}: {why}")
        return found
    shapes, unused, errors = _shapes(data["shapes"])
    if errors:
        found.problems.append(f"{path}: " + "; ".join(errors))
        return found
    objects = [s for s in shapes if s.value == OBJECT]
    skipped = f"; shape type {', '.join(sorted(unused))} not used" if unused else ""
    if not objects:
        found.problems.append(f"{path}: empty annotation (no object polygon, rectangle, circle or mask{skipped})")
        return found
    if unused:
        n = sum(unused.values())
        found.problems.append(f"{path}: shape type {', '.join(sorted(unused))} not used "
                              f"({n} shape{'s' if n != 1 else ''} skipped)")
    cuts = [s for s in shapes if s.value == CUT]
    found.pairs.append(Pair(image=photo, source=str(path), group=group, size=size, shapes=tuple(objects + cuts)))
    return found


def _photo(path: Path, data: dict) -> Path | None:
    """`imagePath` relative to the JSON (or just its file name there), else a photo beside
    the JSON with the JSON's stem."""
    name = data.get("imagePath")
    if isinstance(name, str) and (photo := find_photo(name, [path.parent])) is not None:
        return photo
    same_stem = sorted(p for p in path.parent.glob(glob.escape(path.stem) + ".*") if is_photo(p))
    return same_stem[0] if same_stem else None


def _shapes(items: list) -> tuple[list[Shape], dict[str, int], list[str]]:
    """The used shapes, the count of each unused shape type, and what is wrong with any."""
    shapes: list[Shape] = []
    unused: dict[str, int] = {}
    errors: list[str] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            errors.append(f"shape {i} is not an object")
            continue
        kind = str(item.get("shape_type") or "polygon")
        if kind not in USED:
            unused[kind] = unused.get(kind, 0) + 1
            continue
        try:
            shapes.append(_shape(kind, item))
        except (ValueError, TypeError) as exc:
            errors.append(f"shape {i} ({kind} {item.get('label')!r}): {exc}")
    return shapes, unused, errors


def _shape(kind: str, item: dict) -> Shape:
    value = CUT if is_cut(item.get("label")) else OBJECT
    points = point_list(item.get("points") or [])
    if kind in POLYGONS or (kind == "rectangle" and len(points) >= 4):
        return polygon(points, value)
    if len(points) != 2:
        raise ValueError(f"{len(points)} points (needs 2)")
    if kind == "rectangle":
        return rectangle(points[0], points[1], value)
    if kind == "circle":
        return circle(points[0], points[1], value)
    data = item.get("mask")
    if not isinstance(data, str) or not data:
        raise ValueError("no base64 PNG in `mask`")
    (x, y), _ = points
    w, h = png_size(data)
    shape = bitmap(Bitmap("png", data, (int(x), int(y), w, h)), value)
    check(shape)
    return shape
