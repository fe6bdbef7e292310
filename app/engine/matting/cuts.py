"""Telling a cut (a new shot) from the next frame of the same one, cheaply, for the models
that carry state from frame to frame."""

from __future__ import annotations

import cv2
import numpy as np

THUMB_SIZE = (64, 36)
CUT_LEVEL = 24.0  # mean grey-level change of the thumbnail above which a frame starts a new shot


class CutDetector:
    """`is_cut(frame)` is True for the first frame, a frame of another size, and a frame
    whose downscaled grey picture differs from the last one's by more than CUT_LEVEL."""

    def __init__(self, level: float = CUT_LEVEL) -> None:
        self.level = level
        self._last: np.ndarray | None = None
        self._size: tuple[int, int] | None = None

    def is_cut(self, frame_rgb: np.ndarray) -> bool:
        size = (frame_rgb.shape[1], frame_rgb.shape[0])
        thumb = cv2.cvtColor(cv2.resize(frame_rgb, THUMB_SIZE, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
        last, self._last = self._last, thumb
        new_size, self._size = size != self._size, size
        return last is None or new_size or float(cv2.mean(cv2.absdiff(thumb, last))[0]) > self.level

    def reset(self) -> None:
        self._last = None
