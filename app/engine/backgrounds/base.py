"""What goes behind the person: blur of the real room, a colour, or nothing (transparent),
and the Background protocol every kind meets: an RGB uint8 image at the frame's size.
See docs/backgrounds.md.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

import numpy as np

from app.engine.core.errors import SettingsError
from app.engine.imaging.blur import blur, halve_to, plan_level, upsample

log = logging.getLogger("backdrop.backgrounds")

NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "green": (0, 177, 64), "blue": (0, 71, 187), "red": (200, 16, 46),
}


class Background(Protocol):
    """Renders what replaces the room behind the person."""

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray | None:
        """RGB uint8 at the frame's size; None means transparent (alpha is kept)."""
        ...

    def close(self) -> None: ...


class TransparentBackground:
    """No background: the output keeps the matte as its alpha channel."""

    def render(self, frame_rgb: np.ndarray, seconds: float) -> None:
        return None

    def close(self) -> None:
        pass


class ColourBackground:
    """A solid colour."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        self.rgb = rgb
        self._cache: np.ndarray | None = None

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._cache is None or self._cache.shape != frame_rgb.shape:
            self._cache = np.empty_like(frame_rgb)
            self._cache[:] = self.rgb
        return self._cache

    def close(self) -> None:
        pass


class BlurBackground:
    """The real room, blurred. `strength` is the blur radius in pixels at 1080p; the blur
    runs at reduced resolution, so its cost barely grows with strength."""

    def __init__(self, strength: float = 24.0) -> None:
        if strength <= 0:
            raise SettingsError(f"blur strength must be > 0, got {strength}")
        self.strength = strength

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        h, w = frame_rgb.shape[:2]
        level = plan_level((w, h), self.strength * h / 1080.0)
        small = blur(halve_to(frame_rgb, level), level.sigma)
        return upsample(small, (w, h))

    def close(self) -> None:
        pass


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """`white`, `#RRGGBB` or `RRGGBB` as an RGB tuple; None if `text` is not a colour."""
    key = text.strip().lower()
    if key in NAMED_COLOURS:
        return NAMED_COLOURS[key]
    m = re.fullmatch(r"#?([0-9a-f]{6})", key)
    if m:
        v = int(m.group(1), 16)
        return (v >> 16) & 255, (v >> 8) & 255, v & 255
    return None


