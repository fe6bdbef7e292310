"""The status bar: live figures in one compact line, and the latest warning."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from app.engine.stats import StatsSnapshot


def figures(s: StatsSnapshot) -> str:
    """The compact line: fps, per-stage ms, latency, drops, CPU."""
    stages = "  ".join(f"{k} {v:.1f}" for k, v in s.stage_ms.items() if v > 0)
    return (f"{s.fps_out:.0f} fps   latency {s.latency_ms_p50:.0f}/{s.latency_ms_p95:.0f} ms   "
            f"dropped {s.dropped}   CPU {s.cpu_percent:.0f}%   ms: {stages}")


class StatusStrip(QStatusBar):
    """Shows `figures` permanently and warnings (which say what to do) on the left."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.figures = QLabel("starting…")
        self.addPermanentWidget(self.figures)
        self.last_warning = ""

    def show_stats(self, snapshot: StatsSnapshot) -> None:
        self.figures.setText(figures(snapshot))

    def show_warning(self, text: str) -> None:
        self.last_warning = text
        self.showMessage("⚠ " + text, 15000)
