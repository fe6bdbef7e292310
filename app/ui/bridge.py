"""Moves engine callbacks (from worker threads) onto the GUI thread as Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.engine.core.stats import StatsSnapshot


class EngineBridge(QObject):
    """Emit from any thread; slots connected in the GUI thread run there (queued)."""

    stats = Signal(object)        # StatsSnapshot
    warning = Signal(str)         # one line a user can act on
    background_done = Signal(str, object)  # spec, error line or None
    restarted = Signal()          # the engine was restarted off the GUI thread

    def post_stats(self, snapshot: StatsSnapshot) -> None:
        self.stats.emit(snapshot)

    def post_warning(self, text: str) -> None:
        self.warning.emit(text)
