"""The status bar: live figures in one compact line, the problems that stay until solved
(a bad settings file, a broken camera), and the latest routine warning."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar

from app.engine.core.stats import StatsSnapshot

NOTE_MS = 15000  # a routine warning shows this long
ELIDE_MARGIN = 20  # the label's padding, kept free of text
FIGURES_SHARE_CROWDED, NOTE_SHARE_CROWDED = 0.3, 0.2  # of the bar's width, while a problem shows


def figures(s: StatsSnapshot) -> str:
    """The compact line: fps, latency, audio delay, drops, CPU, the stream's state, per-stage
    ms, the model."""
    stages = "  ".join(f"{k} {v:.1f}" for k, v in s.stage_ms.items() if v > 0)
    audio = "" if s.audio_delay_ms is None else f"audio +{s.audio_delay_ms:.0f} ms   "
    outputs = f"{s.outputs}   " if s.outputs else ""
    return (f"{s.fps_out:.0f} fps   latency {s.latency_ms_p50:.0f}/{s.latency_ms_p95:.0f} ms   {audio}"
            f"dropped {s.dropped}   CPU {s.cpu_percent:.0f}%   {outputs}ms: {stages}"
            + (f"   {s.model}" if s.model else ""))


class ElidedLabel(QLabel):
    """One line of text, shortened with "…" to the room it gets (it asks for the whole
    line's width); the whole of it in the tooltip."""

    def __init__(self, object_name: str, grows: bool = False) -> None:
        super().__init__()
        self.setObjectName(object_name)
        policy = QSizePolicy.Policy.Expanding if grows else QSizePolicy.Policy.Preferred
        self.setSizePolicy(policy, QSizePolicy.Policy.Preferred)
        self._full = ""

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setVisible(bool(text))
        self.updateGeometry()
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + ELIDE_MARGIN, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(60, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = max(20, self.width() - ELIDE_MARGIN)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room))


class StatusStrip(QStatusBar):
    """Shows `figures` on the right; on the left the standing problems (`set_problem`, shown
    until cleared) and the latest warning (`show_warning`, for NOTE_MS). Nothing here is
    replaced by a later routine message."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.problem_label = ElidedLabel("StatusProblem", grows=True)
        self.note = ElidedLabel("StatusNote")
        self.figures = ElidedLabel("StatusFigures")
        self.figures.set_full_text("starting…")
        self.addWidget(self.problem_label, 1)
        self.addWidget(self.note)
        self.addPermanentWidget(self.figures)
        self.problem_label.hide()
        self.note.hide()
        self.problems: dict[str, str] = {}  # what each standing problem says, by its kind
        self._details: dict[str, str] = {}
        self.last_warning = ""
        self.warnings: list[str] = []  # every warning and problem of this run, oldest first
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(lambda: self.note.set_full_text(""))

    def show_stats(self, snapshot: StatsSnapshot) -> None:
        self.figures.set_full_text(figures(snapshot))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._share_room()

    def _share_room(self) -> None:
        """Standing problems get the room first: the figures and the note give way to them."""
        crowded = bool(self.problems)
        self.figures.setMaximumWidth(int(self.width() * (FIGURES_SHARE_CROWDED if crowded else 0.6)))
        self.note.setMaximumWidth(int(self.width() * (NOTE_SHARE_CROWDED if crowded else 0.6)))

    def show_warning(self, text: str) -> None:
        """A routine warning: shown for NOTE_MS (or until the next one)."""
        self.last_warning = text
        self.warnings.append(text)
        self.note.set_full_text("⚠ " + text)
        self._note_timer.start(NOTE_MS)

    def set_problem(self, kind: str, text: str | None, details: str | None = None) -> None:
        """Show `text` until it is cleared (None) or replaced for the same `kind`; `details`
        (default: `text`) in its tooltip."""
        if text:
            if self.problems.get(kind) != text:
                self.warnings.append(details or text)
            self.problems[kind] = text
            self._details[kind] = details or text
        else:
            self.problems.pop(kind, None)
            self._details.pop(kind, None)
        self.problem_label.set_full_text("   ".join(f"⚠ {t}" for t in self.problems.values()))
        self.problem_label.setToolTip("\n\n".join(self._details.get(k, t) for k, t in self.problems.items()))
        self._share_room()
