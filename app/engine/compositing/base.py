"""The Compositor protocol, and the blend both compositors share: the person over a
background, RGB out (RGBA over a transparent one). See docs/compositing.md.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from app.engine.backgrounds.base import Background
from app.engine.compositing.effects import CompositeSettings


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


def check_inputs(frame_rgb: np.ndarray, alpha: np.ndarray) -> None:
    """TypeError/ValueError for a frame that is not HxWx3 uint8 or a matte that is not 2-D uint8."""
    if frame_rgb.dtype != np.uint8 or frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise TypeError(f"unexpected frame: {frame_rgb.dtype} {frame_rgb.shape}, need HxWx3 uint8")
    if alpha.dtype != np.uint8 or alpha.ndim != 2:
        raise TypeError(f"unexpected matte: {alpha.dtype} {alpha.shape}, need HxW uint8")


class Compositor(Protocol):
    """Puts the frame over `background.render(...)` (or its GL equivalent) using `alpha`.

    `alpha` may be smaller than the frame (a low-resolution matte); it is upsampled
    bilinearly. Returns RGB uint8, or RGBA when the background is transparent.
    `settings` may be replaced between frames.
    """

    name: str
    settings: CompositeSettings

    def composite(self, frame_rgb: np.ndarray, alpha: np.ndarray, background: Background,
                  seconds: float) -> np.ndarray: ...

    def close(self) -> None: ...


