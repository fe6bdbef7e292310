"""The reference compositor, in uint8 with OpenCV: what the GL one is tested against."""

from __future__ import annotations

import numpy as np

from app.engine.backgrounds.base import Background
from app.engine.compositing.base import check_inputs, composite
from app.engine.compositing.effects import CompositeSettings, apply_effects
from app.engine.imaging.blur import feather, upsample


class CpuCompositor:
    """The reference compositor, in uint8 with OpenCV."""

    name = "cpu"

    def __init__(self, settings: CompositeSettings | None = None) -> None:
        self.settings = settings or CompositeSettings()

    def composite(self, frame_rgb: np.ndarray, alpha: np.ndarray, background: Background,
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
