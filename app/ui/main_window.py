"""The main window: preview and gallery in the middle, controls on the right, figures below."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.engine.backgrounds.kinds import dialog_filter
from app.engine.core.errors import BackdropError
from app.engine.live.fields import FieldChanged
from app.engine.live.session import LiveSession
from app.engine.live.status import LiveStatus, StatusChanged
from app.ui import settings_store
from app.ui.bridge import EngineBridge
from app.ui.controls import ControlsPanel
from app.ui.gallery import BackgroundGallery
from app.ui.preview import PreviewView
from app.ui.status import StatusStrip

PREVIEW_MS = 33
THUMB_ROW_HEIGHT = 130
VIEWS = (("before", "Before"), ("after", "After"), ("matte", "Matte"))
SETTINGS_PROBLEM, SOURCE_PROBLEM = "settings", "source"  # the status bar's standing problems


class MainWindow(QMainWindow):
    """Owns the LiveSession and the settings models it follows. Controls set the models;
    engine events reach the GUI thread through the bridge; the GUI thread only polls for
    the newest picture."""

    def __init__(self, settings_path: Path | None = None, vcam_backend: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Backdrop")
        self.settings_path = settings_path or settings_store.default_path()
        loaded = settings_store.load(self.settings_path)
        self.settings, self.panel = loaded.live, loaded.panel
        self.settings.vcam_backend = vcam_backend
        self.bridge = EngineBridge()
        self.session = LiveSession(self.settings, on_stats=self.bridge.post_stats)
        self.status_now = self.session.status
        self._build()
        self.bridge.stats.connect(self._show_stats)
        self.bridge.status.connect(self._show_status)
        self.bridge.field_changed.connect(self._field_changed)
        self.settings.subscribe(self.bridge.post_field)  # the session may change it from a worker
        self.panel.subscribe(self._panel_changed)  # only ever changed on the GUI thread
        self.session.subscribe(self.bridge.post_status)
        if loaded.problem:
            print(f"backdrop: {loaded.problem}", file=sys.stderr)
            self.status.set_problem(SETTINGS_PROBLEM, loaded.summary, details=loaded.problem)
        self._restore_layout()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._refresh_preview)
        self.timer.start(PREVIEW_MS)
        QTimer.singleShot(0, self.session.start)

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.preview = PreviewView()
        self.view_buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        title = QLabel("Backdrop")
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        bar.addWidget(title)
        bar.addStretch(1)
        for name, label in VIEWS:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setObjectName("ViewToggle")
            button.setToolTip({"before": "The camera as it is", "after": "What apps receive",
                               "matte": "The cut-out: white is kept, black replaced"}[name])
            button.setChecked(self.panel.view == name)
            button.clicked.connect(lambda _=False, n=name: self._set_view(n))
            self.view_buttons.addButton(button)
            bar.addWidget(button)
        self.gallery = BackgroundGallery()
        self.gallery.setFixedHeight(THUMB_ROW_HEIGHT)
        self.gallery.chosen.connect(self.choose_background)
        self.gallery.problem.connect(self._warn)
        self.gallery.select_spec(self.settings.background)
        add = QPushButton("Add background…")
        add.clicked.connect(self._add_background)
        gallery_bar = QHBoxLayout()
        heading = QLabel("BACKGROUNDS")
        heading.setObjectName("SectionTitle")
        gallery_bar.addWidget(heading)
        gallery_bar.addStretch(1)
        gallery_bar.addWidget(add)

        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(16, 12, 8, 8)
        column.addLayout(bar)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.preview)
        gallery_box = QWidget()
        gb = QVBoxLayout(gallery_box)
        gb.setContentsMargins(0, 0, 0, 0)
        gb.addLayout(gallery_bar)
        gb.addWidget(self.gallery)
        splitter.addWidget(gallery_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        column.addWidget(splitter, 1)

        self.controls = ControlsPanel(self.settings, self.panel, self.bridge)
        self.controls.video_file_wanted.connect(self._choose_video_file)
        self.controls.record_toggled.connect(self._record)
        self.controls.stream_toggled.connect(self._stream)
        self.controls.problem.connect(self._warn)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(330)
        side = QWidget()
        side_box = QVBoxLayout(side)
        side_box.setContentsMargins(8, 12, 16, 8)
        side_box.addWidget(scroll)

        root = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(centre)
        root.addWidget(side)
        root.setStretchFactor(0, 1)
        self.setCentralWidget(root)
        self.status = StatusStrip()
        self.setStatusBar(self.status)
        for i in range(9):  # 1-9 pick the first nine backgrounds (text fields still take digits)
            shortcut = QShortcut(QKeySequence(str(i + 1)), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda row=i: self.gallery.choose_row(row))
        self.resize(1280, 760)

    def _restore_layout(self) -> None:
        if self.panel.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.panel.window_geometry.encode()))
        if self.panel.window_state:
            self.restoreState(QByteArray.fromBase64(self.panel.window_state.encode()))

    # -- what the engine says --------------------------------------------------------------------
    def _show_status(self, event: StatusChanged) -> None:
        status: LiveStatus = event.status
        self.status_now = status
        if "warning" in event.changed and status.warning:
            self._warn(status.warning)
        if "error" in event.changed:
            self.status.set_problem(SOURCE_PROBLEM, status.error)
        if "source" in event.changed and status.source == "demo" and self.settings.camera != "demo":
            self.preview.message = "No camera: showing the demo. Pick a camera or a video file."
        self.controls.show_vcam_status(status.vcam)
        self.controls.show_audio(status.audio, None, status.mic_problem)
        if "matte" in event.changed:
            self.controls.show_matte(status.matte)

    def _show_stats(self, snapshot) -> None:
        self.status.show_stats(snapshot)
        self.controls.show_audio(self.status_now.audio, snapshot.audio_delay_ms, self.status_now.mic_problem)

    def _field_changed(self, event: FieldChanged) -> None:
        """Show a change of the engine's settings (from a control, or put back by the session)."""
        if event.name == "background":
            self.gallery.select_spec(event.new)

    def _panel_changed(self, event: FieldChanged) -> None:
        if event.name == "blur_strength" and self.settings.background.startswith("blur"):
            self.choose_background(f"blur:{event.new:.0f}")

    def _refresh_preview(self) -> None:
        latest = self.session.latest()
        if latest is None:
            return
        frame, image = latest
        if frame is not self._last_shown:
            self._last_shown = frame
            view = self.panel.view
            matte = self.session.latest_matte() if view == "matte" else None
            self.preview.show_image(frame.image if view == "before" else matte if matte is not None else image)

    _last_shown = None

    def _set_view(self, name: str) -> None:
        """Show the output ("after"), the camera ("before") or the matte ("matte")."""
        self.panel.view = name
        self._last_shown = None
        for button, (view, _) in zip(self.view_buttons.buttons(), VIEWS):
            button.setChecked(view == name)

    # -- user actions ----------------------------------------------------------------------------
    def choose_background(self, spec: str) -> None:
        """Switch the live background (the session loads it off the GUI thread; a file that
        cannot be loaded puts the previous one back, with a warning)."""
        self.settings.background = spec

    def _add_background(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add backgrounds", str(Path.home()),
                                                dialog_filter())
        if files:
            self.gallery.add_files([Path(f) for f in files])

    def _choose_video_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play a video file as the camera", str(Path.home()),
                                              dialog_filter("video"))
        if path:
            self.settings.camera = path

    def _record(self, path: str) -> None:
        try:
            self.session.set_recording(Path(path) if path else None)
        except BackdropError as exc:
            self._warn(str(exc))

    def _stream(self, url: str) -> None:
        try:
            self.session.set_stream(url or None)
        except BackdropError as exc:
            self._warn(str(exc))

    def _warn(self, text: str) -> None:
        self.status.show_warning(text)

    # -- closing -----------------------------------------------------------------------------
    def save_settings(self) -> None:
        self.panel.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.panel.window_state = bytes(self.saveState().toBase64()).decode()
        settings_store.save(self.settings, self.panel, self.settings_path)

    def closeEvent(self, event) -> None:
        self.timer.stop()
        try:
            self.save_settings()
        except OSError as exc:
            self._warn(f"settings could not be saved: {exc}")
        self.session.close(timeout=2.0)
        super().closeEvent(event)
