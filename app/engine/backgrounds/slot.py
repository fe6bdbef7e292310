"""A background that can be switched while frames are being made."""

from __future__ import annotations

import threading

import numpy as np

from app.engine.backgrounds.base import Background
from app.engine.backgrounds.spec import parse_background


class BackgroundSlot:
    """The background in use, which another thread (the panel) may switch while frames are
    made. `switch` loads the new one first: if that fails it raises and the previous one
    stays. The replaced one is closed by the next `render` (on the thread that renders)."""

    def __init__(self, background: Background) -> None:
        self._current = background
        self._retired: list[Background] = []
        self._lock = threading.Lock()

    @property
    def current(self) -> Background:
        """The background to use now; closes replaced ones (call from the rendering thread)."""
        with self._lock:
            retired, self._retired = self._retired, []
            current = self._current
        for old in retired:
            old.close()
        return current

    def switch(self, spec: str, fit: str = "cover") -> Background:
        new = parse_background(spec, fit)  # raises (naming the file) before anything changes
        with self._lock:
            self._retired.append(self._current)
            self._current = new
        return new

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray | None:
        return self.current.render(frame_rgb, seconds)

    def close(self) -> None:
        with self._lock:
            retired, self._retired = self._retired + [self._current], []
        for old in retired:
            old.close()


def resolve(background: Background) -> Background:
    """The background a slot holds now (or `background` itself)."""
    while isinstance(background, BackgroundSlot):
        background = background.current
    return background
