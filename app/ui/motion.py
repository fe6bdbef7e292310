"""Hover previews: an animated background's first seconds, played in its gallery tile."""

from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.engine.backgrounds.library import Entry
from app.engine.backgrounds.spec import open_entry
from app.engine.core.errors import BackdropError
from app.ui.preview import to_qimage
from app.ui.tiles import ENTRY_ROLE, MOVING_KINDS, SPEC_ROLE, THUMB

log = logging.getLogger("backdrop.ui")
PREVIEW_FPS = 12
PREVIEW_FRAMES = 36  # a 3 s loop


def render_motion(entry: Entry, frames: int = PREVIEW_FRAMES, fps: float = PREVIEW_FPS) -> list[np.ndarray]:
    """`frames` pictures of a moving background at thumbnail size, `1/fps` s apart (any thread)."""
    background = open_entry(entry, "cover")
    try:
        canvas = np.zeros((THUMB.height(), THUMB.width(), 3), np.uint8)
        return [background.render(canvas, i / fps).copy() for i in range(frames)]
    finally:
        background.close()


class MotionPreview(QObject):
    """Plays a moving background in its tile: the frames are made once per background off
    the GUI thread (`render_motion`), then shown by a timer; `stop()` puts the still back."""

    ready = Signal(str, object)  # spec, list of RGB frames (or None when it cannot be played)

    def __init__(self, gallery: QListWidget) -> None:
        super().__init__(gallery)
        self.gallery = gallery
        self.frames: dict[str, list[QPixmap]] = {}
        self.item: QListWidgetItem | None = None
        self._still: QIcon | None = None
        self._index = 0
        self._loading: set[str] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(1000 // PREVIEW_FPS)
        self.timer.timeout.connect(self._next)
        self.ready.connect(self._ready)

    def play(self, item: QListWidgetItem) -> None:
        if item is self.item:
            return
        self.stop()
        entry: Entry | None = item.data(ENTRY_ROLE)
        if entry is None or entry.kind not in MOVING_KINDS:
            return
        self.item, self._still, self._index = item, item.icon(), 0
        spec = item.data(SPEC_ROLE)
        if spec in self.frames:
            self.timer.start()
        elif spec not in self._loading:
            self._loading.add(spec)
            threading.Thread(target=self._load, args=(spec, entry), name="backdrop-thumb", daemon=True).start()

    def _load(self, spec: str, entry: Entry) -> None:
        try:
            frames = render_motion(entry)
        except (BackdropError, OSError) as exc:
            log.info("no moving preview of %s: %s", entry.path, exc)
            frames = None
        self.ready.emit(spec, frames)

    def _ready(self, spec: str, frames: object) -> None:
        self._loading.discard(spec)
        if frames is None:
            return
        self.frames[spec] = [QPixmap.fromImage(to_qimage(f)) for f in frames]
        if self.item is not None and self.item.data(SPEC_ROLE) == spec:
            self.timer.start()

    def _next(self) -> None:
        frames = self.frames.get(self.item.data(SPEC_ROLE)) if self.item is not None else None
        if not frames:
            return
        self.item.setIcon(QIcon(frames[self._index % len(frames)]))
        self._index += 1

    def stop(self) -> None:
        self.timer.stop()
        if self.item is not None and self._still is not None:
            self.item.setIcon(self._still)
        self.item, self._still = None, None
