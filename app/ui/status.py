"""The status bar: live figures in one compact line, and the latest warning."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar

from app.engine.core.stats import StatsSnapshot


def figures(s: StatsSnapshot) -> str:
    """The compact line: fps, latency, audio delay, drops, CPU, per-stage ms."""
    stages = "  ".join(f"{k} {v:.1f}" for k, v in s.stage_ms.items() if v > 0)
    audio = "" if s.audio_delay_ms is None else f"audio +{s.audio_delay_ms:.0f} ms   "
    return (f"{s.fps_out:.0f} fps   latency {s.latency_ms_p50:.0f}/{s.latency_ms_p95:.0f} ms   {audio}"
            f"dropped {s.dropped}   CPU {s.cpu_percent:.0f}%   ms: {stages}")


class StatusStrip(QStatusBar):
    """Shows `figures` permanently and warnings (which say what to do) on the left."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.figures = QLabel("starting…")
        self.addPermanentWidget(self.figures)
        self.last_warning = ""
        self.warnings: list[str] = []  # every warning of this run, oldest first

    def show_stats(self, snapshot: StatsSnapshot) -> None:
        self.figures.setText(figures(snapshot))

    def show_warning(self, text: str) -> None:
        self.last_warning = text
        self.warnings.append(text)
        room = max(80, self.width() - self.figures.width() - 40)
        shown = self.fontMetrics().elidedText("⚠ " + text, Qt.TextElideMode.ElideRight, room)
        self.setToolTip(text)  # the whole line, when it had to be shortened
        self.showMessage(shown, 15000)
