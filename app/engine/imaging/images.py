"""Image helpers shared by backgrounds, sources and outputs: loading and fitting."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import InputError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
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
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"{path}: not a readable image (corrupt or unsupported format)")
    h, w = bgr.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        s = max_side / max(h, w)
        bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
