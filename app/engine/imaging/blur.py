"""Blur pyramids in uint8: halve to a level where the radius is small, blur, upsample."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_LEVEL_RADIUS = 4.0  # halve until a blur radius is at most this many pixels...
MIN_LEVEL_WIDTH = 64  # ...unless the picture would get narrower than this
REFERENCE_HEIGHT = 1080.0  # effect lengths are given in pixels at 1080p


@dataclass(frozen=True)
class Level:
    """Reduced-size work: the frame halved `len(sizes) - 1` times; blur with `sigma` there."""

    sizes: tuple[tuple[int, int], ...]  # full size first, then each halving
    sigma: float

    @property
    def size(self) -> tuple[int, int]:
        return self.sizes[-1]

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1


def plan_level(size: tuple[int, int], radius: float) -> Level:
    """Halve `size` while the blur `radius` (pixels at `size`) exceeds MAX_LEVEL_RADIUS at
    that level and the width stays at least MIN_LEVEL_WIDTH; the Gaussian sigma there."""
    w, h = size
    sizes = [(w, h)]
    while radius / (w / sizes[-1][0]) > MAX_LEVEL_RADIUS and sizes[-1][0] >= MIN_LEVEL_WIDTH:
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    factor = w / sizes[-1][0]
    return Level(tuple(sizes), max(radius / factor / 2.0, 0.5))


def kernel_radius(sigma: float) -> int:
    """Taps each side of OpenCV's 8-bit Gaussian kernel for `sigma`."""
    return (int(round(sigma * 6 + 1)) | 1) // 2


def gaussian_weights(sigma: float) -> np.ndarray:
    """Weights for offsets 0..radius of OpenCV's Gaussian kernel for `sigma` (symmetric)."""
    r = kernel_radius(sigma)
    kernel = cv2.getGaussianKernel(2 * r + 1, sigma, cv2.CV_64F).ravel()
    return kernel[r:].astype(np.float32)


def scaled(length: float, height: int) -> float:
    """A length given in pixels at 1080p, in pixels of a frame `height` tall."""
    return length * height / REFERENCE_HEIGHT


def halve_to(image: np.ndarray, level: Level) -> np.ndarray:
    """`image` (at level.sizes[0]) reduced through each halving of `level`: exact 2x2 means
    (an odd last row or column is left out, as the GL passes do)."""
    for w, h in level.sizes[1:]:
        image = cv2.resize(image[:2 * h, :2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return image


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)


def feather(alpha: np.ndarray, pixels_1080: float) -> np.ndarray:
    """The matte with its edge blurred by `pixels_1080` (at 1080p), at the matte's own size."""
    sigma = scaled(pixels_1080, alpha.shape[0]) / 2.0
    return alpha if sigma < 0.25 else blur(alpha, sigma)


def upsample(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return image if image.shape[1::-1] == size else cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
