"""CVAT "for images 1.1" XML exports: <annotations> of <image id name width height> with
<polygon points="x1,y1;x2,y2;...">, <box xtl ytl xbr ybr [rotation]>, <ellipse cx cy rx ry
[rotation]> and <mask rle left top width height> (run lengths over the box, row-major,
0s first). Shapes are painted in ascending z_order (ties: file order): labels hole and
background paint 0, every other label 255. Photos are looked up by `name` relative to the
XML's folder or an images/ folder beside it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from app.engine.core.errors import InputError
from app.training.data.bitmaps import Bitmap, cvat_counts
from app.training.data.pairs import Collected, Pair
from app.training.data.photos import group_of, listed_photo, size_problem, upright_size
from app.training.data.shapes import (CUT, OBJECT, Shape, bitmap, check, ellipse, is_cut, number, polygon,
                                      rectangle)

USED = {"polygon", "box", "ellipse", "mask"}
IGNORED = {"tag"}  # labels of the whole image: not regions
NOT_CVAT = "not a CVAT for images 1.1 export"


def parse_cvat(path: Path) -> ET.Element:
    """The <annotations> root of a CVAT XML; ValueError saying why `path` is not one (not
    XML, another XML, cannot be read)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"not readable XML ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    if root.tag != "annotations":
        raise ValueError(f"{NOT_CVAT} (its root element is <{root.tag}>, not <annotations>)")
    return root


def read_cvat(path: Path, seen: set[Path] | None = None, root: ET.Element | None = None) -> Collected:
    """A pair for each <image> of the CVAT XML `path` (parsed: `root`, or parsed here), and
    one problem line for each that cannot be used ("PATH: NAME: reason": photo not found or
    unreadable, no annotation, size differs from the photo's, a malformed shape, only holes;
    polylines, points and other shape types are one line and are left out) or for the file
    itself (not XML, not CVAT, a video export's tracks). Photos found go in `seen`."""
    found = Collected()
    if root is None:
        try:
            root = parse_cvat(path)
        except ValueError as exc:
            found.problems.append(f"{path}: {exc}")
            return found
    images = root.findall("image")
    tracks = root.findall("track")
    if tracks:
        found.problems.append(f"{path}: {len(tracks)} track{'s' if len(tracks) != 1 else ''} not read "
                              "(a CVAT for video export): export as CVAT for images 1.1")
    if not images and not tracks:
        found.problems.append(f"{path}: {NOT_CVAT} (no <image> elements)")
    folders = list(dict.fromkeys([path.parent, path.parent / "images"]))
    for element in images:
        problem, pair = _image(path, element, folders, seen)
        if problem is not None:
            found.problems.append(problem)
        if pair is not None:
            found.pairs.append(pair)
    return found


def _image(path: Path, element: ET.Element, folders: list[Path],
           seen: set[Path] | None) -> tuple[str | None, Pair | None]:
    """(problem line or None, pair or None) for one <image>."""
    name = element.get("name") or ""
    where = f"{path}: {name or 'image ' + str(element.get('id'))}"
    photo, problem = listed_photo(where, name, folders, seen)
    if photo is None:
        return problem, None
    try:
        size = upright_size(photo)
    except InputError as exc:
        return f"{where}: {exc}", None
    try:
        stated = (int(element.get("width", "")), int(element.get("height", "")))
    except ValueError:
        stated = None
    if stated is not None and (why := size_problem(stated, size, photo)) is not None:
        return f"{where}: {why}", None
    layered: list[tuple[int, Shape]] = []
    unused: dict[str, int] = {}
    errors: list[str] = []
    for i, child in enumerate(element, 1):
        if child.tag in IGNORED:
            continue
        if child.tag not in USED:
            unused[child.tag] = unused.get(child.tag, 0) + 1
            continue
        try:
            layered.append((int(number(child.get("z_order", "0"))), _shape(child)))
        except (ValueError, TypeError) as exc:
            errors.append(f"<{child.tag}> {i} ({child.get('label')!r}): {exc}")
    if errors:
        return f"{where}: " + "; ".join(errors), None
    skipped = f"shape type {', '.join(sorted(unused))} not used" if unused else ""
    if not layered and not unused:
        return f"{where}: no annotation", None
    if not any(shape.value == OBJECT for _, shape in layered):
        return f"{where}: empty annotation (no object polygon, box, ellipse or mask{'; ' + skipped if skipped else ''})", None
    layered.sort(key=lambda item: item[0])  # stable: ties keep file order
    group = group_of(PurePosixPath(name.replace("\\", "/")).parent)
    pair = Pair(image=photo, source=str(path), group=group, size=size, shapes=tuple(s for _, s in layered))
    if unused:
        n = sum(unused.values())
        return f"{where}: {skipped} ({n} shape{'s' if n != 1 else ''} skipped)", pair
    return None, pair


def _shape(child: ET.Element) -> Shape:
    value = CUT if is_cut(child.get("label")) else OBJECT
    get = child.get
    degrees = number(get("rotation", "0"))
    if child.tag == "polygon":
        return polygon(_points(get("points", "")), value)
    if child.tag == "box":
        return rectangle((number(get("xtl")), number(get("ytl"))), (number(get("xbr")), number(get("ybr"))),
                         value, degrees)
    if child.tag == "ellipse":
        return ellipse((number(get("cx")), number(get("cy"))), number(get("rx")), number(get("ry")), value, degrees)
    box = tuple(int(number(get(k))) for k in ("left", "top", "width", "height"))
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"a mask box of {box[2]}x{box[3]} pixels")
    shape = bitmap(Bitmap("cvat", tuple(cvat_counts(get("rle", ""))), box), value)
    check(shape)
    return shape


def _points(text: str) -> list[tuple[float, float]]:
    """CVAT's "x1,y1;x2,y2;..." as points; ValueError if malformed."""
    points = []
    for item in text.split(";"):
        if item.strip():
            xy = item.split(",")
            if len(xy) != 2:
                raise ValueError(f"point {item.strip()!r} is not x,y")
            points.append((number(xy[0].strip()), number(xy[1].strip())))
    return points
