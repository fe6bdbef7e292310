"""The newest picture for a viewer that polls at its own rate."""

from __future__ import annotations

import threading

from app.engine.runner import Processed


class PreviewTap:
    """Keeps only the newest picture (source frame, composite, matte) for a viewer that
    polls at its own rate; `keep` is called by the output thread and never blocks it."""

    def __init__(self) -> None:
        self._latest: Processed | None = None
        self._lock = threading.Lock()
        self.count = 0

    def keep(self, processed: Processed) -> None:
        with self._lock:
            self._latest = processed
            self.count += 1

    def latest(self) -> Processed | None:
        with self._lock:
            return self._latest
