"""CPU reference compositor: the person over a background, in uint8 with OpenCV.

The GL compositor is tested against this one and falls back to it where no OpenGL exists.
"""

from __future__ import annotations

import cv2
import numpy as np


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """fg * a + bg * (1 - a) per pixel, with `alpha` HxW uint8 (255 = foreground).

    Exact to within one grey level of the float formula; never touches float on full frames.
    """
    a3 = cv2.merge((alpha, alpha, alpha))
    fg = cv2.multiply(foreground, a3, scale=1.0 / 255.0)
    bg = cv2.multiply(background, cv2.bitwise_not(a3), scale=1.0 / 255.0)
    return cv2.add(fg, bg)


def with_alpha(foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA image: the frame with the matte as its alpha channel."""
    r, g, b = cv2.split(foreground)
    return cv2.merge((r, g, b, alpha))


def composite(frame_rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray | None) -> np.ndarray:
    """The output picture: RGB over `background`, or RGBA when `background` is None."""
    if alpha.shape != frame_rgb.shape[:2]:
        raise ValueError(f"matte size {alpha.shape[::-1]} does not match frame {frame_rgb.shape[1::-1]}")
    if background is None:
        return with_alpha(frame_rgb, alpha)
    return blend(frame_rgb, background, alpha)
