"""Moves engine events (from worker threads) onto the GUI thread as Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.engine.core.stats import StatsSnapshot
from app.engine.live.fields import FieldChanged
from app.engine.live.status import StatusChanged


class EngineBridge(QObject):
    """Post from any thread; slots connected in the GUI thread run there (queued)."""

    stats = Signal(object)          # StatsSnapshot, about once a second
    status = Signal(object)         # StatusChanged: the session's LiveStatus was updated
    field_changed = Signal(object)  # FieldChanged: a settings model changed

    def post_stats(self, snapshot: StatsSnapshot) -> None:
        self.stats.emit(snapshot)

    def post_status(self, event: StatusChanged) -> None:
        self.status.emit(event)

    def post_field(self, event: FieldChanged) -> None:
        self.field_changed.emit(event)
