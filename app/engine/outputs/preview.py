"""A preview window for `backdrop run --preview` (OpenCV's HighGUI), without Qt in the engine.

All window calls happen in one named thread of its own (HighGUI needs that); `write()` only
hands the newest picture over, so a slow display never holds up the live path.
"""

from __future__ import annotations

import os
import sys
import threading

import cv2
import numpy as np

from app.engine.compositing.base import blend
from app.engine.core.errors import OutputError
from app.engine.core.frame import Frame
from app.engine.core.slots import LatestSlot
from app.engine.core.threads import Worker

TITLE = "Backdrop preview"
CLOSE_TIMEOUT_S = 3.0


class PreviewOutput:
    """Shows each picture in a resizable window; `closed_by_user` is set when the window is
    closed, so live mode can stop. RGBA is shown over a grey checkerboard. If the window's
    thread fails, the next `write()` raises its error."""

    def __init__(self, title: str = TITLE) -> None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise OutputError("preview: no display to open a window on (DISPLAY is not set); run without --preview")
        self.title = title
        self.label = "the preview window"  # what errors call it
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self.closed_by_user = threading.Event()
        self.shown = 0
        self._worker = Worker("preview", self._run)
        self._stop = self._worker.stop
        self._worker.start()

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self._worker.raise_error()
        self._slot.put(image)

    def _run(self) -> None:
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        try:
            while not self._stop.is_set():
                image = self._slot.get(timeout=0.05)
                if image is not None:
                    cv2.imshow(self.title, to_bgr(image))
                    self.shown += 1
                cv2.waitKey(1)
                if self.shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                    self.closed_by_user.set()
                    break
        finally:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)

    def close(self) -> None:
        """Close the window; safe to call twice."""
        self._worker.end(CLOSE_TIMEOUT_S)

    abort = close


def checkerboard(size: tuple[int, int], cell: int = 16) -> np.ndarray:
    """A grey RGB checkerboard of `size` (w, h): what shows through transparent pixels."""
    w, h = size
    yy, xx = np.indices((h, w)) // cell
    grey = np.where((yy + xx) % 2 == 0, 200, 150).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def to_bgr(image: np.ndarray, board: np.ndarray | None = None) -> np.ndarray:
    """What the window shows: grey mattes as grey, RGBA over a checkerboard."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        h, w = image.shape[:2]
        if board is None or board.shape[:2] != (h, w):
            board = checkerboard((w, h))
        rgb = blend(np.ascontiguousarray(image[..., :3]), board, np.ascontiguousarray(image[..., 3]))
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
