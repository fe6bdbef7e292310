"""Image helpers shared by backgrounds, sources and outputs: loading, fitting, writing."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import InputError, OutputError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_SIDE = 3840  # larger background photos are scaled down once, on load
FITS = ("cover", "contain", "stretch")


def fit_geometry(source: tuple[int, int], size: tuple[int, int], fit: str) -> tuple[int, int, int, int]:
    """Where a `source` (w, h) picture goes in a frame of `size` (w, h): its scaled size
    (sw, sh) and the frame position (x, y) of its top-left corner (negative when cover
    crops it)."""
    w, h = size
    iw, ih = source
    if fit == "stretch":
        return w, h, 0, 0
    scale = max(w / iw, h / ih) if fit == "cover" else min(w / iw, h / ih)
    sw, sh = max(1, round(iw * scale)), max(1, round(ih * scale))
    if fit == "cover":
        return sw, sh, -((sw - w) // 2), -((sh - h) // 2)
    return sw, sh, (w - sw) // 2, (h - sh) // 2


def fit_image(image: np.ndarray, size: tuple[int, int], fit: str) -> np.ndarray:
    """Scale an RGB image to `size` (w, h): cover crops, contain letterboxes in black,
    stretch ignores the aspect ratio."""
    w, h = size
    ih, iw = image.shape[:2]
    if fit == "stretch":
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    sw, sh, x, y = fit_geometry((iw, ih), size, fit)
    interp = cv2.INTER_AREA if sw < iw or sh < ih else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (sw, sh), interpolation=interp)
    if fit == "cover":
        return np.ascontiguousarray(scaled[-y:-y + h, -x:-x + w])
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[y:y + sh, x:x + sw] = scaled
    return canvas


def load_image_rgb(path: Path, max_side: int | None = None) -> np.ndarray:
    """An image file as RGB uint8 (EXIF orientation applied), scaled so no side exceeds
    `max_side` (if given); raises InputError naming the file if it cannot be read."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = without_iccp(np.fromfile(str(path), dtype=np.uint8))
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"{path}: not a readable image (corrupt or unsupported format)")
    h, w = bgr.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        s = max_side / max(h, w)
        bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def without_iccp(data: np.ndarray) -> np.ndarray:
    """A PNG's bytes without its iCCP (ICC profile) chunks, so that libpng does not print
    warnings about odd profiles ("iCCP: known incorrect sRGB profile") to the terminal; the
    pixels decode the same (OpenCV applies no profile). Anything else is returned as it is."""
    raw = memoryview(data).cast("B") if data[:8].tobytes() == PNG_SIGNATURE else memoryview(b"")
    pos, kept, cut = 8, [], False
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])  # then the data and its CRC
        end = pos + 12 + length
        if kind == b"iCCP":
            cut = True
        else:
            kept.append(raw[pos:end])
        pos = end
        if kind == b"IDAT":  # profiles come before the picture data: keep the rest as it is
            kept.append(raw[pos:])
            break
    if not cut:
        return data
    return np.frombuffer(PNG_SIGNATURE + b"".join(kept), np.uint8)


def write_reason(exc: BaseException) -> str:
    """Why a write failed, in the user's words: "the disk is full", or the OS's reason
    ("Permission denied", "Read-only file system"), never a bare errno."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "the disk is full"
    if code == errno.EDQUOT:
        return "the disk quota is used up"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def write_file(path: Path, data: bytes | np.ndarray, name: Path | None = None) -> None:
    """Write `data` (bytes, or an encoded image from `cv2.imencode`) to `path`, replacing it.
    Raises OutputError naming `name` (default `path`) and the reason; a disk that fills up
    says how much got written ("the disk is full (only 200704 of 703693 bytes written)")."""
    view = memoryview(np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data).cast("B")
    name, done = name or path, 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError as exc:
        raise OutputError(f"{name}: cannot be written ({write_reason(exc)})") from None
    try:
        try:
            while done < len(view):
                written = os.write(fd, view[done:])
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                done += written
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OutputError(f"{name}: {write_reason(exc)} (only {done} of {len(view)} bytes written)") from None
        raise OutputError(f"{name}: cannot be written ({write_reason(exc)})") from None
