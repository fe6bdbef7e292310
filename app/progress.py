"""A one-line terminal progress bar with fps and time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class ProgressBar:
    """Redraws one line on a terminal at most every `interval` seconds; silent elsewhere."""

    def __init__(self, total: int | None, label: str, stream: TextIO = sys.stderr, interval: float = 0.2) -> None:
        self.total, self.label, self.stream, self.interval = total, label, stream, interval
        self.enabled = stream.isatty()
        self._start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval and done != self.total:
            return
        self._last = now
        elapsed = now - self._start
        fps = done / elapsed if elapsed > 0 else 0.0
        if self.total:
            share = min(1.0, done / self.total)
            bar = "#" * int(share * 24) + "." * (24 - int(share * 24))
            left = (self.total - done) / fps if fps > 0 else 0.0
            text = f"{self.label} [{bar}] {share:4.0%} {done}/{self.total} {fps:5.1f} fps, {format_duration(left)} left"
        else:
            text = f"{self.label} {done} {fps:5.1f} fps, {format_duration(elapsed)} elapsed"
        self.stream.write("\r" + text + (f" {extra}" if extra else "") + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
