"""From the model's low-resolution confidence to a full-resolution alpha matte (uint8).

All work happens in uint8 with OpenCV, at the model's size or at a reduced "work" size;
only the final upsample touches every full-resolution pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from app.engine.errors import SettingsError

WORK_WIDTH = 640  # grow/shrink and feather run at most this wide, then one upsample


@dataclass
class MatteSettings:
    """User controls of the matte; lengths are in pixels at the frame's own resolution.

    threshold: confidence at which a pixel is half person, half background (0..1).
    softness: width of the confidence ramp around the threshold (0 = hard cut-out).
    grow: pixels to grow the person by (negative shrinks).
    feather: blur radius of the matte edge.
    invert: keep the background and remove the person.
    """

    threshold: float = 0.5
    softness: float = 0.3
    grow: float = 0.0
    feather: float = 2.0
    invert: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise SettingsError(f"threshold must be within 0..1, got {self.threshold}")
        if not 0.0 <= self.softness <= 1.0:
            raise SettingsError(f"softness must be within 0..1, got {self.softness}")
        if self.feather < 0:
            raise SettingsError(f"feather must be >= 0, got {self.feather}")


class MatteStage(Protocol):
    """A refinement step at work resolution (temporal stability, edge refinement).

    `process` receives the alpha and the frame, both at work size, and returns a new alpha
    of the same size; `reset` forgets any state (called on a cut or source switch).
    """

    def process(self, alpha: np.ndarray, guide: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def confidence_lut(settings: MatteSettings) -> np.ndarray:
    """256-entry table mapping confidence (0..255) to alpha (0..255)."""
    conf = np.arange(256, dtype=np.float32) / 255.0
    half = max(settings.softness / 2.0, 0.5 / 255.0)
    alpha = np.clip((conf - (settings.threshold - half)) / (2.0 * half), 0.0, 1.0)
    if settings.invert:
        alpha = 1.0 - alpha
    return np.round(alpha * 255.0).astype(np.uint8)


def work_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """The reduced size (width, height) at which the matte is refined."""
    w, h = frame_size
    if w <= WORK_WIDTH:
        return w, h
    return WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))


def _ellipse(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


@dataclass
class MatteRefiner:
    """Confidence map (any size, float32 0..1) -> alpha (uint8) at the frame's size."""

    settings: MatteSettings = field(default_factory=MatteSettings)
    stages: list[MatteStage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lut_key: tuple | None = None
        self._lut = np.zeros(256, np.uint8)

    def _current_lut(self) -> np.ndarray:
        s = self.settings
        key = (s.threshold, s.softness, s.invert)
        if key != self._lut_key:
            self._lut, self._lut_key = confidence_lut(s), key
        return self._lut

    def refine(self, confidence: np.ndarray, frame_rgb: np.ndarray) -> np.ndarray:
        """Alpha matte (HxW uint8, 255 = person) for `frame_rgb` from its confidence map."""
        h, w = frame_rgb.shape[:2]
        conf8 = cv2.convertScaleAbs(confidence, alpha=255.0)
        alpha = cv2.LUT(conf8, self._current_lut())
        ww, wh = work_size((w, h))
        alpha = cv2.resize(alpha, (ww, wh), interpolation=cv2.INTER_LINEAR)
        scale = ww / w
        if self.stages:
            guide = frame_rgb if (ww, wh) == (w, h) else cv2.resize(
                frame_rgb, (ww, wh), interpolation=cv2.INTER_AREA)
            for stage in self.stages:
                alpha = stage.process(alpha, guide)
        alpha = self._grow(alpha, self.settings.grow * scale)
        alpha = self._feather(alpha, self.settings.feather * scale)
        if (ww, wh) != (w, h):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        return alpha

    @staticmethod
    def _grow(alpha: np.ndarray, pixels: float) -> np.ndarray:
        radius = int(round(abs(pixels)))
        if radius == 0:
            return alpha
        op = cv2.dilate if pixels > 0 else cv2.erode
        return op(alpha, _ellipse(radius))

    @staticmethod
    def _feather(alpha: np.ndarray, radius: float) -> np.ndarray:
        if radius < 0.25:
            return alpha
        return cv2.GaussianBlur(alpha, (0, 0), sigmaX=radius / 2.0)

    def reset(self) -> None:
        """Forget temporal state in every stage."""
        for stage in self.stages:
            stage.reset()
