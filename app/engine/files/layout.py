"""Catalogue layout of a cut-out: cropped to its subject, fitted into a fixed canvas with a
margin, centred or standing on the bottom margin, over a colour or transparency, with an
optional soft contact shadow; and the encoder settings for the result.

Promises of `place`: where the placed subject's alpha is 0 and there is no shadow, every
pixel is exactly the background colour (white is exactly 255, 255, 255; transparent is
0, 0, 0, 0); where it is 255 the pixel is the foreground's own colour. Work is uint8 with
OpenCV, in strips of rows, so no full-size float array is made."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.engine.core.errors import SettingsError

ALIGNS = ("center", "bottom")
SUBJECT_THRESHOLD = 8  # alpha above this counts as subject (the box `trim` crops to)
SHADOW_OPACITY = 0.5  # darkest point of the contact shadow
STRIP = 256  # rows composited at a time
DEFAULT_JPEG_QUALITY = 95


@dataclass(frozen=True)
class Layout:
    """How a cut-out is framed. `canvas` (w, h): the result's size, the subject scaled (up or
    down) to fit inside it less `margin` on every side; None keeps the picture's size
    (or, with `trim`, the subject's box plus the margin). `margin`: percent of the canvas's
    shorter side (without a canvas, of the subject box's longer side), the same pixels on
    every side. `align`: "center", or "bottom" (the subject's lowest pixel on the bottom
    margin). `trim`: crop to the subject's box (a canvas always frames that box). `shadow`:
    a soft contact shadow under the subject. Raises SettingsError for a bad value."""

    canvas: tuple[int, int] | None = None
    margin: float = 0.0
    align: str = "center"
    trim: bool = False
    shadow: bool = False

    def __post_init__(self) -> None:
        if self.align not in ALIGNS:
            raise SettingsError(f"--align must be one of {', '.join(ALIGNS)}, not {self.align!r}")
        if not 0 <= self.margin < 50:
            raise SettingsError(f"--margin must be at least 0 and under 50 (percent), not {self.margin:g}")
        if self.canvas is not None and min(self.canvas) < 1:
            raise SettingsError(f"--canvas must be at least 1x1, not {self.canvas[0]}x{self.canvas[1]}")

    @property
    def changes_nothing(self) -> bool:
        """True when `place` only composites (same size, subject where it was, no shadow)."""
        return self.canvas is None and not self.trim and not self.shadow


def subject_box(alpha: np.ndarray, threshold: int = SUBJECT_THRESHOLD) -> tuple[int, int, int, int] | None:
    """The subject's bounding box (x0, y0, x1, y1), ends exclusive, of the pixels whose alpha
    exceeds `threshold`; None when there are none."""
    mask = (alpha > threshold).astype(np.uint8)
    x, y, w, h = cv2.boundingRect(mask)
    return None if w == 0 or h == 0 else (x, y, x + w, y + h)


def place(foreground: np.ndarray, alpha: np.ndarray, layout: Layout,
          background: tuple[int, int, int] | None) -> np.ndarray:
    """The cut-out (`foreground` uint8 HxWx3, `alpha` uint8 HxW) laid out by `layout` over
    `background`: an RGB colour (result uint8 RGB) or None (transparent: result uint8
    RGBA, the shadow as partial black alpha). With no subject at all, the whole picture
    counts as the subject's box."""
    h, w = alpha.shape
    box = subject_box(alpha) if (layout.trim or layout.canvas) else None
    x0, y0, x1, y1 = box or (0, 0, w, h)
    fg, a = foreground[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    bw, bh = x1 - x0, y1 - y0
    if layout.canvas is not None:
        cw, ch = layout.canvas
        m = round(layout.margin / 100 * min(cw, ch))
        scale = min(max(1, cw - 2 * m) / bw, max(1, ch - 2 * m) / bh)
        sw, sh = max(1, round(bw * scale)), max(1, round(bh * scale))
        if (sw, sh) != (bw, bh):
            fg, a = resize_cutout(fg, a, (sw, sh))
        px = (cw - sw) // 2
        py = (ch - sh) // 2 if layout.align == "center" else max(0, ch - m - sh)
    elif layout.trim:
        m = round(layout.margin / 100 * max(bw, bh))
        below = m
        if layout.shadow and (geometry := _shadow_geometry(a)) is not None:
            below = max(m, math.ceil(geometry[3] + 3 * geometry[4] + 2))  # room for the shadow
        cw, ch, px, py = bw + 2 * m, bh + m + below, m, m
    else:
        cw, ch, px, py = w, h, 0, 0
    channels = 3 if background is not None else 4
    out = np.zeros((ch, cw, channels), np.uint8)
    if background is not None:
        out[:] = np.asarray(background, np.uint8)
    shadow = _shadow(a, (px, py), (cw, ch)) if layout.shadow else None
    if shadow is not None and background is not None:
        _darken(out, *shadow)  # under the subject: drawn before it
    region = out[py:py + a.shape[0], px:px + a.shape[1]]
    _compose(region, fg[:region.shape[0], :region.shape[1]], a[:region.shape[0], :region.shape[1]])
    if shadow is not None and background is None:
        _shadow_under_transparent(out, *shadow)
    return out


def resize_cutout(foreground: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """`foreground` and `alpha` scaled to `size` (w, h) with the colour weighted by alpha
    (premultiplied), so no colour of the old background bleeds into the edge."""
    shrink = size[0] < alpha.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    premultiplied = cv2.multiply(foreground, cv2.merge([alpha] * 3), scale=1 / 255)
    p = cv2.resize(premultiplied, size, interpolation=interp)
    a = cv2.resize(alpha, size, interpolation=interp)
    colour = cv2.divide(p, cv2.merge([a] * 3), scale=255)  # 0 where alpha is 0
    return colour, a


def _compose(region: np.ndarray, fg: np.ndarray, a: np.ndarray) -> None:
    """Put `fg` with alpha `a` over `region` (RGB: blended with what is there; RGBA, still
    transparent there: `fg` and `a` copied, colour 0 where alpha is 0), in place."""
    for r in range(0, a.shape[0], STRIP):
        fs, as_, out = fg[r:r + STRIP], a[r:r + STRIP], region[r:r + STRIP]
        if region.shape[2] == 4:
            out[..., :3] = fs
            out[..., 3] = as_
            out[as_ == 0] = 0
            continue
        a3 = cv2.merge([as_] * 3)
        front = cv2.multiply(fs, a3, scale=1 / 255)
        back = cv2.multiply(out, cv2.bitwise_not(a3), scale=1 / 255)
        out[:] = cv2.add(front, back)


def _shadow_geometry(a: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """The contact shadow's ellipse in `a`'s coordinates: centre (cx, cy), radii (rx, ry) and
    blur sigma, from the subject's footprint (its lowest rows); None without a subject."""
    box = subject_box(a)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    band = max(2, round(0.04 * (y1 - y0)))
    cols = np.flatnonzero((a[max(y0, y1 - band):y1, x0:x1] > SUBJECT_THRESHOLD).any(axis=0))
    left, right = x0 + cols[0], x0 + cols[-1] + 1
    rx = max(2.0, (right - left) / 2 * 1.1)
    ry = max(2.0, 0.15 * rx)
    return (left + right) / 2, y1 - 0.25 * ry, rx, ry, max(1.5, 0.8 * ry)


def _shadow(a: np.ndarray, at: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, np.ndarray] | None:
    """The shadow of the subject `a` placed at `at` on a canvas of `size`: (x, y, strength
    uint8) for the patch of the canvas it covers; 0 outside it, so nothing else changes."""
    geometry = _shadow_geometry(a)
    if geometry is None:
        return None
    cx, cy, rx, ry, sigma = geometry
    cx, cy = cx + at[0], cy + at[1]
    reach = 3 * sigma + 2
    x0, y0 = max(0, math.floor(cx - rx - reach)), max(0, math.floor(cy - ry - reach))
    x1, y1 = min(size[0], math.ceil(cx + rx + reach)), min(size[1], math.ceil(cy + ry + reach))
    if x1 <= x0 or y1 <= y0:
        return None
    patch = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel precision of cv2.ellipse
    cv2.ellipse(patch, (round((cx - x0) * 16), round((cy - y0) * 16)), (round(rx * 16), round(ry * 16)),
                0, 0, 360, round(255 * SHADOW_OPACITY), -1, cv2.LINE_AA, shift)
    return x0, y0, cv2.GaussianBlur(patch, (0, 0), sigma)


def _darken(out: np.ndarray, x: int, y: int, strength: np.ndarray) -> None:
    """Darken the RGB patch of `out` at (x, y) by `strength` (255 would be black)."""
    patch = out[y:y + strength.shape[0], x:x + strength.shape[1]]
    patch[:] = cv2.multiply(patch, cv2.merge([cv2.bitwise_not(strength)] * 3), scale=1 / 255)


def _shadow_under_transparent(out: np.ndarray, x: int, y: int, strength: np.ndarray) -> None:
    """Put a black shadow of alpha `strength` under the RGBA patch of `out` at (x, y)."""
    patch = out[y:y + strength.shape[0], x:x + strength.shape[1]]
    a = patch[..., 3].astype(np.float32)
    s = strength.astype(np.float32)
    total = a + s * (255 - a) / 255
    keep = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    patch[..., :3] = np.rint(patch[..., :3] * keep[..., None]).astype(np.uint8)
    patch[..., 3] = np.rint(total).astype(np.uint8)


def encode_params(suffix: str, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> list[int]:
    """`cv2.imencode` parameters for a file ending in `suffix`: JPEG at `jpeg_quality`
    (1-100; from 90 up without colour subsampling, so thin coloured edges stay sharp),
    WebP at the same quality, PNG at OpenCV's defaults. SettingsError for a bad quality."""
    if not 1 <= jpeg_quality <= 100:
        raise SettingsError(f"--jpeg-quality must be from 1 to 100, not {jpeg_quality}")
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        if jpeg_quality >= 90:
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        return params
    if suffix == ".webp":
        return [cv2.IMWRITE_WEBP_QUALITY, jpeg_quality]
    return []
