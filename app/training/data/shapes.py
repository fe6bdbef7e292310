"""Annotated shapes and how they are painted into a mask, the same way for every format.

Pixel convention: a vertex (x, y) is at the centre of pixel column x, row y, and polygons
(rectangles and ellipses become polygons) are filled with cv2.fillPoly at 1/16 pixel
precision, which paints the pixels inside and those the outline runs through: a shape
comes out about half a pixel larger all round than its exact area. A rectangle from
(10, 10) to (20, 20) covers pixels 10..20 in both directions (11 x 11); holes grow alike."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from app.training.data.bitmaps import Bitmap, decode

CUT_LABELS = {"hole", "background"}
SHIFT = 4  # sub-pixel bits for cv2.fillPoly
LIMIT = 1 << 20  # coordinates are clamped to +-LIMIT pixels (fillPoly's fixed point stays in int32)
MAX_VERTICES = 1 << 16  # of an ellipse's outline
OBJECT, CUT = 255, 0

Point = tuple[float, float]


@dataclass(frozen=True)
class Shape:
    """One region painted into a mask with `value` (255: object, 0: cut out, a hole): a
    "polygon" (`points`: 3 or more vertices), an "ellipse" (`points`: its centre and its
    half-axes (rx, ry), turned `degrees` clockwise) or a "bitmap" (`bitmap`)."""

    kind: str
    value: int = OBJECT
    points: tuple[Point, ...] = ()
    bitmap: Bitmap | None = None
    degrees: float = 0.0


def is_cut(label: object) -> bool:
    """Whether a label or category name means "not object": hole or background, in any
    case, also LabelMe's `_background_`."""
    return isinstance(label, str) and label.strip().strip("_").lower() in CUT_LABELS


def point_list(values: Iterable[object]) -> list[Point]:
    """[[x, y], ...] (LabelMe) as finite float points; ValueError otherwise."""
    points = []
    for item in values:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError("a point that is not [x, y]")
        points.append((number(item[0]), number(item[1])))
    return points


def flat_points(values: Sequence[object]) -> list[Point]:
    """[x1, y1, x2, y2, ...] (COCO) as finite float points; ValueError otherwise."""
    if len(values) % 2:
        raise ValueError("an odd number of coordinates")
    return [(number(values[i]), number(values[i + 1])) for i in range(0, len(values), 2)]


def number(value: object) -> float:
    """`value` as a finite float (a number or its text); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a number")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{value!r} is not a finite number")
    return x


def polygon(points: Sequence[Point], value: int = OBJECT) -> Shape:
    """A filled polygon; ValueError with fewer than 3 vertices."""
    if len(points) < 3:
        raise ValueError(f"a polygon with {len(points)} point{'s' if len(points) != 1 else ''} (needs 3)")
    return Shape("polygon", value, tuple((float(x), float(y)) for x, y in points))


def rectangle(corner: Point, other: Point, value: int = OBJECT, degrees: float = 0.0) -> Shape:
    """The axis-aligned box between two opposite corners (any order), turned `degrees`
    clockwise about its centre (CVAT's `rotation`)."""
    (x0, y0), (x1, y1) = corner, other
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return Shape("polygon", value, tuple(_turned(corners, ((x0 + x1) / 2, (y0 + y1) / 2), degrees)))


def circle(centre: Point, rim: Point, value: int = OBJECT) -> Shape:
    """The disc about `centre` through `rim` (LabelMe's two circle points)."""
    r = math.dist(centre, rim)
    return ellipse(centre, r, r, value)


def ellipse(centre: Point, rx: float, ry: float, value: int = OBJECT, degrees: float = 0.0) -> Shape:
    """A filled ellipse with half-axes rx, ry, turned `degrees` clockwise (kept as its
    parameters; painted as a polygon with a vertex every pixel or so of its outline)."""
    return Shape("ellipse", value, (centre, (abs(rx), abs(ry))), degrees=degrees)


def _outline(shape: Shape) -> list[Point]:
    """An ellipse shape's outline: vertices at most 1/8 pixel inside the true curve (for
    half-axes up to 10,000 pixels)."""
    (cx, cy), (rx, ry) = shape.points
    n = min(MAX_VERTICES, max(16, math.ceil(2 * math.pi * max(rx, ry))))
    steps = np.arange(n) * (2 * math.pi / n)
    xs, ys = cx + rx * np.cos(steps), cy + ry * np.sin(steps)
    return _turned(zip(xs.tolist(), ys.tolist()), (cx, cy), shape.degrees)


def _turned(points: Iterable[Point], centre: Point, degrees: float) -> list[Point]:
    if not degrees:
        return list(points)
    a = math.radians(degrees)  # clockwise on screen: y points down
    c, s = math.cos(a), math.sin(a)
    cx, cy = centre
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in points]


def bitmap(bits: Bitmap, value: int = OBJECT) -> Shape:
    """A mask region kept encoded (see `Bitmap`); checked by `check` before it is kept."""
    return Shape("bitmap", value, bitmap=bits)


def check(shape: Shape) -> None:
    """Decode a bitmap shape once, so that a broken one is found when the data is read, not
    while training; ValueError naming what is wrong."""
    if shape.bitmap is not None:
        decode(shape.bitmap)


def render(shapes: Iterable[Shape], size: tuple[int, int]) -> np.ndarray:
    """A uint8 (h, w) mask of `size` (w, h), 0 everywhere, with `shapes` painted in order
    (a later shape paints over an earlier one; parts outside the photo are dropped)."""
    w, h = size
    canvas = np.zeros((h, w), np.uint8)
    for shape in shapes:
        paint(canvas, shape)
    return canvas


def paint(canvas: np.ndarray, shape: Shape) -> None:
    """Paint one shape into `canvas` (uint8 h x w) in place."""
    if shape.kind in ("polygon", "ellipse"):
        points = _outline(shape) if shape.kind == "ellipse" else shape.points
        pts = np.clip(np.asarray(points, np.float64), -LIMIT, LIMIT)
        fixed = np.round(pts * (1 << SHIFT)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(canvas, [fixed], int(shape.value), lineType=cv2.LINE_8, shift=SHIFT)
        return
    if shape.kind != "bitmap" or shape.bitmap is None:
        raise ValueError(f"unknown shape kind {shape.kind!r}")
    left, top, width, height = shape.bitmap.box
    bits = decode(shape.bitmap)
    h, w = canvas.shape
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + width, w), min(top + height, h)
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[y0:y1, x0:x1]
    region[bits[y0 - top:y1 - top, x0 - left:x1 - left]] = shape.value
