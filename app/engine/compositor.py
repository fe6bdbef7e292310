"""Compositors: the person over a background. The CPU one (uint8, OpenCV) is the reference
the GL one is tested against, and the fallback where no OpenGL exists.

`make_compositor("auto" | "gl" | "cpu")` picks one; both take the same inputs and give the
same output (within the tolerance the parity tests state).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from app.engine.effects import CompositeSettings, apply_effects, feather, upsample
from app.engine.errors import SettingsError

if TYPE_CHECKING:
    from app.engine.backgrounds import Background

log = logging.getLogger("backdrop.compositor")
KINDS = ("auto", "gl", "cpu")


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

    def composite(self, frame_rgb: np.ndarray, alpha: np.ndarray, background: "Background",
                  seconds: float) -> np.ndarray: ...

    def close(self) -> None: ...


class CpuCompositor:
    """The reference compositor, in uint8 with OpenCV."""

    name = "cpu"

    def __init__(self, settings: CompositeSettings | None = None) -> None:
        self.settings = settings or CompositeSettings()

    def composite(self, frame_rgb: np.ndarray, alpha: np.ndarray, background: "Background",
                  seconds: float) -> np.ndarray:
        check_inputs(frame_rgb, alpha)
        s = self.settings
        h, w = frame_rgb.shape[:2]
        if s.feather > 0:
            alpha = feather(alpha, s.feather)  # at the matte's own size
        alpha = upsample(alpha, (w, h))
        bg = background.render(frame_rgb, seconds)
        if bg is not None and bg.shape != frame_rgb.shape:
            raise ValueError(f"background {bg.shape} does not match frame {frame_rgb.shape}")
        fg = apply_effects(frame_rgb, alpha, bg, s) if (s.needs_edge or s.colour_match > 0) else frame_rgb
        return composite(fg, alpha, bg)

    def close(self) -> None:
        pass


AUTO_ENV = "BACKDROP_COMPOSITOR"  # "gl" or "cpu" overrides what "auto" picks
_auto_choice: str | None = None  # what "auto" picked, decided once per process


def _choose_auto() -> str:
    """"gl" on a hardware renderer, else "cpu" (logging why once)."""
    global _auto_choice
    if _auto_choice is None:
        from app.engine.gl import context

        was_running = context.is_running()
        try:
            rt = context.runtime()
        except context.GlUnavailable as exc:
            log.warning("no OpenGL (%s): using the CPU compositor", exc)
            _auto_choice = "cpu"
            return _auto_choice
        if rt.software:
            log.info("OpenGL renderer is %s (software): the CPU compositor is faster there", rt.renderer)
            _auto_choice = "cpu"
            if not was_running:
                context.shutdown()  # started only to ask: do not keep its thread
        else:
            _auto_choice = "gl"
    return _auto_choice


def make_compositor(kind: str = "auto", settings: CompositeSettings | None = None) -> Compositor:
    """A compositor of `kind`: "gl" (raises GlUnavailable if no OpenGL), "cpu", or "auto":
    GL on a hardware renderer, else the CPU one (one log line says why when there is no
    OpenGL at all). The environment variable BACKDROP_COMPOSITOR=gl|cpu overrides "auto"."""
    if kind not in KINDS:
        raise SettingsError(f"compositor must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "auto":
        forced = os.environ.get(AUTO_ENV, "").strip().lower()
        if forced and forced not in KINDS:
            raise SettingsError(f"{AUTO_ENV} must be one of {', '.join(KINDS)}, got {forced!r}")
        kind = forced if forced in ("gl", "cpu") else _choose_auto()
    if kind == "cpu":
        return CpuCompositor(settings)
    from app.engine.gl.compositor import GlCompositor

    return GlCompositor(settings)
