"""Masks stored as pixels inside annotations: LabelMe's base64 PNG, COCO's run lengths
(uncompressed, and pycocotools' compressed string) and CVAT's run lengths over a box."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

ENCODINGS = ("png", "coco", "cvat")
MAX_PIXELS = 1 << 30  # of a decoded bitmap, as for photos (load_photo's limit)


@dataclass(frozen=True)
class Bitmap:
    """A mask region kept encoded until it is painted: `data` is a base64 PNG ("png", any
    non-zero pixel is object), COCO counts ("coco": a list of ints or pycocotools' string,
    column-major over the box) or CVAT run lengths ("cvat": ints, row-major over the box);
    run lengths start with a run of 0s. `box` is (left, top, width, height) on the photo."""

    encoding: str
    data: str | tuple[int, ...]
    box: tuple[int, int, int, int]


def coco_counts(text: str) -> list[int]:
    """The run lengths of a compressed COCO RLE string (pycocotools' `rleFrString`): each
    number in 6-bit chunks of characters 48-111, low bits first, 0x20 set on every chunk but
    the last, 0x10 of the last one the sign; from the fourth number on, each is stored as
    its difference from the number two before. ValueError if `text` is not such a string."""
    counts: list[int] = []
    value = shift = 0
    for char in text:
        chunk = ord(char) - 48
        if not 0 <= chunk < 64:
            raise ValueError(f"character {char!r} is not in a COCO RLE string")
        value |= (chunk & 0x1F) << shift
        shift += 5
        if chunk & 0x20:
            continue
        if chunk & 0x10:
            value -= 1 << shift  # sign-extend the last chunk
        if len(counts) > 2:
            value += counts[-2]
        if value < 0:
            raise ValueError("a COCO RLE string with a negative run length")
        counts.append(value)
        value = shift = 0
    if shift:
        raise ValueError("a COCO RLE string that ends inside a number")
    return counts


def cvat_counts(text: str) -> list[int]:
    """CVAT's `rle` attribute ("10, 5, 3"): run lengths; ValueError if malformed."""
    counts = [int(part) for part in text.replace(" ", "").split(",") if part]
    if any(c < 0 for c in counts):
        raise ValueError("a negative run length")
    return counts


def runs_to_bits(counts: Sequence[int], height: int, width: int, column_major: bool) -> np.ndarray:
    """Run lengths (0s first, then alternating) as a bool (height, width) array, filled
    down the columns when `column_major` (COCO) else along the rows (CVAT). ValueError
    unless the runs add up to height * width."""
    if height * width > MAX_PIXELS:
        raise ValueError(f"a {width}x{height} mask is too large")
    total = sum(counts)
    if total != height * width:
        raise ValueError(f"run lengths add up to {total} pixels, not {width}x{height} = {width * height}")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, np.asarray(counts, np.int64))
    if column_major:
        return flat.reshape(width, height).T
    return flat.reshape(height, width)


def png_bits(data: str) -> np.ndarray:
    """A base64 PNG (LabelMe's `mask`) as a bool array: any non-zero grey is object (LabelMe
    stores 0 and 1). ValueError if it is not a readable image."""
    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as im:
            grey = np.array(im.convert("L"))
    except (binascii.Error, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a readable base64 PNG ({exc})") from None
    return grey > 0


def png_size(data: str) -> tuple[int, int]:
    """The (width, height) of a base64 PNG, from its header; ValueError if unreadable."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=False))) as im:
            return im.size
    except (binascii.Error, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a readable base64 PNG ({exc})") from None


def decode(bitmap: Bitmap) -> np.ndarray:
    """The bool (height, width) pixels of `bitmap`'s box; ValueError if they do not decode
    to the box's size."""
    _, _, width, height = bitmap.box
    if bitmap.encoding == "png":
        bits = png_bits(str(bitmap.data))
        if bits.shape != (height, width):
            raise ValueError(f"mask PNG is {bits.shape[1]}x{bits.shape[0]}, not {width}x{height}")
        return bits
    if bitmap.encoding == "coco":
        counts = coco_counts(bitmap.data) if isinstance(bitmap.data, str) else bitmap.data
        return runs_to_bits(counts, height, width, column_major=True)
    if bitmap.encoding == "cvat":
        return runs_to_bits(bitmap.data, height, width, column_major=False)
    raise ValueError(f"unknown bitmap encoding {bitmap.encoding!r} (one of {', '.join(ENCODINGS)})")
