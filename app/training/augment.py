"""Training samples from a few annotated photos: each photo squashed to the model's square
input as `remove` feeds it, then flipped, rotated, scaled, shifted and colour-jittered, and
optionally its object pasted onto another photo (copy-paste), so that a few annotations go
further. All in uint8 OpenCV at the model's size."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

KEEP_SIDE = 512  # photos are kept in memory at this long side (room for the scale jitter)


@dataclass(frozen=True)
class Augment:
    """The ranges each sample is drawn from."""

    flip: float = 0.5  # chance of a left-right mirror
    vflip: float = 0.1  # chance of an upside-down one (products photographed from any side)
    rotate: float = 25.0  # degrees, either way
    scale: tuple[float, float] = (0.8, 1.2)
    shift: float = 0.10  # share of the side, either way
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    paste: float = 0.5  # chance of copy-paste onto a background photo, when there are some


def shrink(rgb: np.ndarray, mask: np.ndarray, side: int = KEEP_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its mask at no more than `side` on the long side (mask stays 0/255)."""
    h, w = mask.shape
    scale = side / max(h, w)
    if scale >= 1.0:
        return rgb, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.where(small > 127, 255, 0).astype(np.uint8)


def squash(rgb: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The photo and mask resized to size x size, as the model sees a photo (no augmentation)."""
    return (cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA),
            (cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA) > 127).astype(np.uint8) * 255)


def _matrix(w: int, h: int, size: int, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """The 2x3 affine: squash to size x size, then flip, rotate, scale, shift about the centre."""
    squash_m = np.array([[size / w, 0, 0], [0, size / h, 0], [0, 0, 1]], np.float64)
    flip_x = -1.0 if rng.random() < aug.flip else 1.0
    flip_y = -1.0 if rng.random() < aug.vflip else 1.0
    c = size / 2.0
    flips = np.array([[flip_x, 0, c - flip_x * c], [0, flip_y, c - flip_y * c], [0, 0, 1]], np.float64)
    turn = cv2.getRotationMatrix2D((c, c), float(rng.uniform(-aug.rotate, aug.rotate)),
                                   float(rng.uniform(*aug.scale)))
    turn[:, 2] += rng.uniform(-aug.shift, aug.shift, 2) * size
    return (np.vstack([turn, [0, 0, 1]]) @ flips @ squash_m)[:2]


def _jitter(rgb: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation, each by a random factor, in uint8."""
    alpha = (1 + rng.uniform(-aug.contrast, aug.contrast)) * (1 + rng.uniform(-aug.brightness, aug.brightness))
    mean = float(rgb.mean())
    out = cv2.convertScaleAbs(rgb, alpha=alpha, beta=mean * (1 - alpha) * 0.5)
    sat = 1 + rng.uniform(-aug.saturation, aug.saturation)
    grey = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(out, sat, grey, 1 - sat, 0.0)


def _paste(rgb: np.ndarray, mask: np.ndarray, background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The object of `rgb` (where `mask`) over a random crop of `background`, same size."""
    size = rgb.shape[1], rgb.shape[0]
    bh, bw = background.shape[:2]
    crop = int(min(bh, bw) * rng.uniform(0.5, 1.0))
    y, x = int(rng.integers(0, bh - crop + 1)), int(rng.integers(0, bw - crop + 1))
    under = cv2.resize(background[y:y + crop, x:x + crop], size, interpolation=cv2.INTER_AREA)
    soft = cv2.GaussianBlur(mask, (3, 3), 0)
    inverse = cv2.bitwise_not(soft)
    fg = cv2.multiply(rgb, cv2.merge([soft] * 3), scale=1 / 255)
    bg = cv2.multiply(under, cv2.merge([inverse] * 3), scale=1 / 255)
    return cv2.add(fg, bg)


def sample(rgb: np.ndarray, mask: np.ndarray, size: int, aug: Augment, rng: np.random.Generator,
           backgrounds: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (image uint8 size x size x 3, mask uint8 size x size 0/255)."""
    h, w = mask.shape
    m = _matrix(w, h, size, aug, rng)
    image = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    target = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    target = np.where(target > 127, 255, 0).astype(np.uint8)
    if backgrounds and rng.random() < aug.paste:
        image = _paste(image, target, backgrounds[int(rng.integers(len(backgrounds)))], rng)
    return _jitter(image, aug, rng), target
