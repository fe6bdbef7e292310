"""A photo behind the person, scaled once per frame size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.engine.core.errors import SettingsError
from app.engine.imaging.images import FITS, MAX_IMAGE_SIDE, fit_image, load_image_rgb


class ImageBackground:
    """A photo, fitted to the frame once per frame size."""

    def __init__(self, path: Path | None, fit: str = "cover", image: np.ndarray | None = None) -> None:
        """The photo at `path`, or `image` (RGB) when given (a video's first frame)."""
        if fit not in FITS:
            raise SettingsError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        self.path, self.fit = path, fit
        self._image = image if image is not None else load_image_rgb(path, MAX_IMAGE_SIDE)
        self._cache: np.ndarray | None = None

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._cache is None or self._cache.shape != frame_rgb.shape:
            h, w = frame_rgb.shape[:2]
            self._cache = fit_image(self._image, (w, h), self.fit)
        return self._cache

    def close(self) -> None:
        pass
