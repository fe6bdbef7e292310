"""What goes behind the person: blur of the real room, a colour, a photo, a looping video,
or nothing (transparent). `parse_background` turns a command-line SPEC into one of these.

Every background renders an RGB uint8 image at the frame's size; work that depends only on
the size (scaling a photo, filling a colour) is done once per size, not per frame.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app.engine.errors import InputError, SettingsError
from app.engine.imaging import FITS, IMAGE_EXTENSIONS, MAX_IMAGE_SIDE, fit_image, load_image_rgb
from app.engine.video_background import VideoBackground

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".gif"}

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
        radius = self.strength * h / 1080.0
        small = frame_rgb
        while radius / (w / small.shape[1]) > 4 and small.shape[1] >= 64:
            small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
        factor = w / small.shape[1]
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=max(radius / factor / 2.0, 0.5))
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        pass


class ImageBackground:
    """A photo, fitted to the frame once per frame size."""

    def __init__(self, path: Path, fit: str = "cover") -> None:
        if fit not in FITS:
            raise SettingsError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        self.path, self.fit = path, fit
        self._image = load_image_rgb(path, MAX_IMAGE_SIDE)
        self._cache: np.ndarray | None = None

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._cache is None or self._cache.shape != frame_rgb.shape:
            h, w = frame_rgb.shape[:2]
            self._cache = fit_image(self._image, (w, h), self.fit)
        return self._cache

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


def parse_background(spec: str, fit: str = "cover") -> Background:
    """A background from a SPEC: `blur[:STRENGTH]`, `transparent`, a colour, or a path to
    a photo or video. Raises InputError (bad file) or SettingsError (bad SPEC)."""
    text = spec.strip()
    head, _, arg = text.partition(":")
    if head.lower() == "blur":
        try:
            return BlurBackground(float(arg) if arg else 24.0)
        except ValueError:
            raise SettingsError(f"background {spec!r}: blur strength must be a positive number") from None
    if text.lower() in ("transparent", "none"):
        return TransparentBackground()
    colour = parse_colour(text)
    if colour is not None:
        return ColourBackground(colour)
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return ImageBackground(path, fit)
    if suffix in VIDEO_EXTENSIONS:
        return VideoBackground(path, fit)
    if not path.exists():
        raise SettingsError(
            f"background {spec!r}: not a file, a colour (white, #RRGGBB), 'blur[:N]' or 'transparent'")
    raise InputError(f"{path}: unsupported background file type {suffix or '(none)'}")
