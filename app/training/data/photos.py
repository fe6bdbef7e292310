"""Photo and mask files on disk: their upright size from the header (nothing decoded),
mask files read as 0/255, photos found from an annotation's file name."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image, ImageOps

from app.engine.core.errors import InputError
from app.engine.imaging.images import IMAGE_EXTENSIONS, load_photo

TURNED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
ORIENTATION = 0x0112
NOT_READABLE = "not a readable image (corrupt or unsupported format)"
LOSSLESS = {"PNG", "BMP", "TIFF"}  # formats whose 0/1 masks are label masks, not noise
_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def is_photo(path: Path) -> bool:
    """A visible file with a photo extension (`IMAGE_EXTENSIONS`)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def upright_size(path: Path, max_side: int | None = None) -> tuple[int, int]:
    """The (w, h) of the picture `load_photo(path, max_side)` returns, read from the file's
    header: EXIF orientation applied, and a JPEG's reduced-size decoding when `max_side`
    shrinks it, as `load_photo` does. InputError naming the file if it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if max_side is not None and max(w, h) > max_side and im.format == "JPEG":
                    s = max_side / max(w, h)  # the same request as load_photo's draft
                    im.draft(None, (max(1, int(w * s)), max(1, int(h * s))))
                    w, h = im.size
                if _orientation(im) in TURNED:
                    w, h = h, w
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except _ERRORS:
        h, w = load_photo(path, max_side).rgb.shape[:2]  # formats only OpenCV reads (or an error)
        return w, h
    if max_side is None or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _orientation(im: Image.Image) -> int:
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # (Pillow would decode the whole PNG looking for EXIF after the pixels)
    try:
        return int(im.getexif().get(ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1


def read_mask_file(path: Path) -> np.ndarray:
    """A mask image as uint8 (h, w) of 0 and 255, upright: where it has transparency, the
    object is where alpha > 127; otherwise where its grey (colour converted) is > 127,
    except that a PNG, BMP or TIFF of only 0s and 1s (a label mask) takes 1 as object.
    InputError naming the file if it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                lossless = im.format in LOSSLESS
                im = ImageOps.exif_transpose(im)
                values = None
                if im.has_transparency_data:
                    rgba = im.convert("LA" if im.mode in ("1", "L", "LA", "P", "I;16", "I") else "RGBA")
                    alpha = np.array(rgba.getchannel("A"))
                    values = alpha if int(alpha.min()) < 255 else None
                if values is None:
                    values = np.array(im.convert("L"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except _ERRORS:
        raise InputError(f"{path}: {NOT_READABLE}") from None
    if lossless and values.size and int(values.max()) == 1:
        return np.where(values == 1, 255, 0).astype(np.uint8)
    return np.where(values > 127, 255, 0).astype(np.uint8)


def shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 0/255 mask resized to `size` (w, h) with INTER_AREA, then 0/255 again (>= 128)."""
    if mask.shape[::-1] == tuple(size):
        return mask
    small = cv2.resize(mask, tuple(size), interpolation=cv2.INTER_AREA)
    return np.where(small > 127, 255, 0).astype(np.uint8)


def find_photo(name: str, folders: Iterable[Path]) -> Path | None:
    """The photo an annotation names (`name`: relative, with / or \\, or absolute): the
    first file found at FOLDER/name, then FOLDER/basename, for each of `folders`."""
    clean = name.replace("\\", "/").strip()
    if not clean:
        return None
    rel = PurePosixPath(clean)
    if rel.is_absolute():
        return Path(clean) if Path(clean).is_file() else None
    folders = list(folders)
    for candidate in [f / rel for f in folders] + [f / rel.name for f in folders]:
        if candidate.is_file():
            return candidate
    return None


def listed_photo(where: str, name: str, folders: list[Path], seen: set[Path] | None) -> tuple[Path | None, str | None]:
    """(the photo an export lists, None) or (None, the problem line `where: photo not found`);
    a photo found is added to `seen`."""
    photo = find_photo(name, folders)
    if photo is None:
        return None, f"{where}: photo not found (looked in {', '.join(str(f) for f in folders)})"
    if seen is not None:
        seen.add(photo)
    return photo, None


def group_of(folder: PurePosixPath | str) -> str | None:
    """The group key of a photo in `folder` (relative to the data's root, or an annotation's
    file name folder): that folder as "a/b", less a leading "images" and any "." or "..";
    None at the top."""
    parts = [p for p in PurePosixPath(str(folder).replace("\\", "/")).parts if p not in (".", "..", "/")]
    if parts and parts[0].lower() == "images":
        parts = parts[1:]
    return "/".join(parts) or None


def stated_size(width: object, height: object) -> tuple[int, int] | None:
    """An annotation's stated (width, height) when both are positive finite numbers."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1 << 31 for v in (width, height)):
        return int(width), int(height)  # type: ignore[arg-type]
    return None


def size_problem(stated: tuple[int, int], actual: tuple[int, int], photo: Path) -> str | None:
    """"the annotation is for 640x480 but a.jpg is 480x640 (upright)", or None if equal."""
    if tuple(stated) == tuple(actual):
        return None
    return f"the annotation is for {stated[0]}x{stated[1]} but {photo.name} is {actual[0]}x{actual[1]} (upright)"
