"""A still's final alpha and foreground colours from an object (or person) probability map.

"fast": the map snapped to the photo's edges by a guided filter (grey guide), and the edge pixels' colour
taken from the object's own nearby pixels (no PyMatting). "matting": an uncertain band
around the map's 0.5 edge solved by closed-form alpha matting against the photo, and the
foreground colour there estimated by PyMatting's multi-level method, so that on a new
background the edge pixels carry the object's colour, not the old background's.

Both work at a reduced size (long side <= WORK_LONG_SIDE) and upsample the result in strips:
memory stays bounded for huge photos (figures in `docs/stills.md`).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import cv2.ximgproc  # opencv-contrib: the guided filter
import numpy as np

from app.engine.core.errors import InputError

MODES = ("fast", "matting")
WORK_LONG_SIDE = {"fast": 640, "matting": 800}  # px: the size the edges are worked out at
BAND_SHARE = 0.006  # uncertain band's half width, share of the working image's diagonal
MIN_BAND_PX = 3
GUIDE_RADIUS_SHARE = 0.003  # fast: guided filter radius, share of the working diagonal
GUIDE_EPS = 1e-3  # fast: guided filter regularisation (intensities 0..1)
FG_BLUR_SHARE = 0.01  # fast: reach of the object colours spread into the edge
SPREAD_SCALE = 4  # fast: the object colours are spread at this fraction of the working size
STRIP_ROWS = 512  # full-size rows written per step


def work_size(shape: tuple[int, ...], long_side: int) -> tuple[int, int]:
    """(w, h) with the image's aspect ratio and the long side at most `long_side`."""
    h, w = shape[:2]
    scale = min(1.0, long_side / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def upsample_strips(src: np.ndarray, size: tuple[int, int], write: Callable[[int, int, np.ndarray], None],
                    rows: int = STRIP_ROWS) -> None:
    """Bilinear upsampling of `src` to `size` (w, h), as cv2.resize would place it, handed to
    `write(y0, y1, strip)` a strip of rows at a time (no full-size float array)."""
    w, h = size
    sh, sw = src.shape[:2]
    fx, fy = sw / w, sh / h
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        m = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, (y0 + 0.5) * fy - 0.5]], np.float64)
        strip = cv2.warpAffine(src, m, (w, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        write(y0, y1, strip)


def trimap(soft: np.ndarray, band: int) -> np.ndarray:
    """0 background, 1 object, 0.5 unknown: within `band` px of the 0.5 edge, or where the
    map itself is undecided (0.05..0.95)."""
    obj = (soft > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    sure_fg = cv2.erode(obj, kernel).astype(bool) & (soft >= 0.95)
    sure_bg = ~cv2.dilate(obj, kernel).astype(bool) & (soft <= 0.05)
    out = np.full(soft.shape, 0.5, np.float64)
    out[sure_fg], out[sure_bg] = 1.0, 0.0
    return out


def spread_colours(image: np.ndarray, alpha: np.ndarray, reach: int) -> np.ndarray:
    """Each pixel's colour as the Gaussian-weighted mean of the nearby sure-object pixels
    (alpha >= 0.95), worked out at 1/SPREAD_SCALE of the size (colours change slowly): the
    object's colour carried into its edge (uint8 RGB, the image's size)."""
    h, w = alpha.shape
    size = (max(1, w // SPREAD_SCALE), max(1, h // SPREAD_SCALE))
    sure = (alpha >= 0.95).astype(np.float32)
    sure_s = cv2.resize(sure, size, interpolation=cv2.INTER_AREA)
    summed = cv2.resize(image.astype(np.float32) * sure[..., None], size, interpolation=cv2.INTER_AREA)
    k = 2 * max(1, reach // SPREAD_SCALE) + 1
    weight = cv2.GaussianBlur(sure_s, (k, k), 0)
    colour = cv2.GaussianBlur(summed, (k, k), 0) / np.maximum(weight, 1e-6)[..., None]
    colour = cv2.resize(np.clip(colour + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    far = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR) < 1e-3  # no object near
    colour[far] = image[far]
    return colour


def _fast(image: np.ndarray, soft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Working-size alpha (float32) and edge colours (uint8), guided filter only."""
    diag = float(np.hypot(*soft.shape))
    radius = max(1, round(GUIDE_RADIUS_SHARE * diag))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # a grey guide: a third of a colour one's cost
    alpha = np.clip(cv2.ximgproc.guidedFilter(grey, soft, radius, GUIDE_EPS * 255.0 ** 2), 0.0, 1.0)
    return alpha, spread_colours(image, alpha, max(2, round(FG_BLUR_SHARE * diag)))


def _matting(image: np.ndarray, soft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Working-size alpha and colours: closed-form matting and ML foreground in the band's box."""
    from pymatting import estimate_alpha_cf, estimate_foreground_ml  # numba: JIT on first use

    band = max(MIN_BAND_PX, round(BAND_SHARE * float(np.hypot(*soft.shape))))
    tri = trimap(soft, band)
    alpha = tri.astype(np.float32)
    colours = image.copy()
    ys, xs = np.nonzero(tri == 0.5)
    if ys.size == 0 or not (tri == 1.0).any():
        return alpha, colours
    pad = 2 * band
    y0, y1 = max(0, ys.min() - pad), min(soft.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(soft.shape[1], xs.max() + pad + 1)
    crop = image[y0:y1, x0:x1].astype(np.float64) / 255.0
    solved = np.clip(estimate_alpha_cf(crop, tri[y0:y1, x0:x1]), 0.0, 1.0)
    fg = estimate_foreground_ml(crop, solved)
    alpha[y0:y1, x0:x1] = solved
    colours[y0:y1, x0:x1] = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return alpha, colours


def refine(image_rgb: np.ndarray, soft: np.ndarray, mode: str = "matting", *,
           in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(alpha uint8 HxW, foreground uint8 HxWx3) at the image's size for `image_rgb` (uint8
    HxWx3) and `soft` (float32 0..1, any size with the image's aspect ratio). Off the edge
    the foreground is the photo itself; where alpha is partial it is the object's colour.
    `in_place`: the edge colours are written into `image_rgb`, which is returned as the
    foreground (no full-size copy: a 12000x8000 photo saves 288 MB)."""
    if mode not in MODES:
        raise InputError(f"edges: {mode!r} is not one of {', '.join(MODES)}")
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise InputError(f"refine: needs uint8 HxWx3 RGB, got {image_rgb.dtype} {image_rgb.shape}")
    h, w = image_rgb.shape[:2]
    size = work_size(image_rgb.shape, WORK_LONG_SIDE[mode])
    small = image_rgb if size == (w, h) else cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)
    s = soft.astype(np.float32, copy=False)
    if s.shape[::-1] != size:
        s = cv2.resize(s, size, interpolation=cv2.INTER_AREA if s.shape[1] > size[0] else cv2.INTER_LINEAR)
    alpha_small, colours_small = (_fast if mode == "fast" else _matting)(small, s)
    alpha8 = np.clip(alpha_small * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if size == (w, h):
        alpha = alpha8
        edge = (alpha > 0) & (alpha < 255)
        fg = image_rgb if in_place else image_rgb.copy()
        fg[edge] = colours_small[edge]
        return alpha, fg
    alpha = np.empty((h, w), np.uint8)
    upsample_strips(alpha8, (w, h), lambda y0, y1, strip: alpha.__setitem__(slice(y0, y1), strip))
    fg = image_rgb if in_place else image_rgb.copy()

    def paste(y0: int, y1: int, strip: np.ndarray) -> None:
        edge = (alpha[y0:y1] > 0) & (alpha[y0:y1] < 255)
        fg[y0:y1][edge] = strip[edge]

    upsample_strips(colours_small, (w, h), paste)
    return alpha, fg


def precompile() -> None:
    """Solve one tiny edge band, so that PyMatting's numba functions are compiled and cached
    on disk (about a minute once; install.sh runs this, so a user's first photo does not)."""
    image = np.zeros((48, 48, 3), np.uint8)
    image[12:36, 12:36] = (200, 60, 30)
    soft = np.zeros((48, 48), np.float32)
    soft[12:36, 12:36] = 1.0
    refine(image, cv2.GaussianBlur(soft, (0, 0), 2), "matting")
