"""The main window: preview and gallery in the middle, controls on the right, figures below."""

from __future__ import annotations

import threading
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
from app.engine.compositing.effects import CompositeSettings
from app.engine.core.errors import BackdropError
from app.engine.live.session import LiveSession
from app.engine.live.settings import LiveSettings
from app.engine.matting.presets import MatteSettings
from app.ui import settings_store
from app.ui.bridge import EngineBridge
from app.ui.controls import ControlsPanel
from app.ui.gallery import BackgroundGallery
from app.ui.preview import PreviewView
from app.ui.settings_store import PanelSettings
from app.ui.status import StatusStrip

PREVIEW_MS = 33
THUMB_ROW_HEIGHT = 130
MATTE_KEYS = ("preset", "smoothing", "softness", "threshold", "grow", "feather", "invert")
EFFECT_KEYS = ("light_wrap", "colour_match")
RESTART_KEYS = ("camera", "size", "fps", "model", "virtual_camera", "mic", "virtual_mic")
VIEWS = (("before", "Before"), ("after", "After"), ("matte", "Matte"))


def live_settings(p: PanelSettings, vcam_backend: str | None = None) -> LiveSettings:
    """What the engine needs from the panel's saved settings."""
    w, h = (int(v) for v in p.size.split("x"))
    matte = MatteSettings(threshold=p.threshold, softness=p.softness, grow=p.grow, feather=p.feather,
                          invert=p.invert, smoothing=p.smoothing, preset=p.preset)
    effects = CompositeSettings(light_wrap=p.light_wrap, colour_match=p.colour_match)
    return LiveSettings(camera=p.camera, size=(w, h), fps=p.fps, model=None if p.model == "auto" else p.model,
                        background=p.background, matte=matte,
                        effects=effects, virtual_camera=p.virtual_camera, vcam_backend=vcam_backend,
                        mic=p.mic, virtual_mic=p.virtual_mic, av_offset_ms=p.av_offset_ms)


class MainWindow(QMainWindow):
    """Owns the LiveSession; the GUI thread only polls for the newest picture."""

    def __init__(self, settings_path: Path | None = None, vcam_backend: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Backdrop")
        self.settings_path = settings_path or settings_store.default_path()
        self.settings, problem = settings_store.load(self.settings_path)
        self.bridge = EngineBridge()
        self.session = LiveSession(live_settings(self.settings, vcam_backend),
                                   on_stats=self.bridge.post_stats, on_warning=self.bridge.post_warning)
        self._restarting = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._closing = False
        self._build()
        self.bridge.stats.connect(self._show_stats)
        self.bridge.warning.connect(self._warn)
        self.bridge.background_done.connect(self._background_done)
        self.bridge.restarted.connect(self._show_outputs)
        if problem:
            self._warn(problem)
        self._restore_layout()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._refresh_preview)
        self.timer.start(PREVIEW_MS)
        QTimer.singleShot(0, self._start_engine)

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
            button.setChecked(self.settings.view == name)
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

        self.controls = ControlsPanel(self.settings)
        self.controls.changed.connect(self.apply)
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
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        if self.settings.window_state:
            self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode()))

    # -- the engine ----------------------------------------------------------------------------
    def _start_engine(self) -> None:
        self.session.start()
        self._show_outputs()
        if self.session.source_label == "demo" and self.settings.camera != "demo":
            self.preview.message = "No camera: showing the demo. Pick a camera or a video file."

    def _in_background(self, work) -> None:
        """Run `work` (a restart: closing a camera can take a moment) off the GUI thread,
        one at a time; closing the window waits for it."""
        def run() -> None:
            with self._restarting:
                if self._closing:
                    return
                work()
            self.bridge.restarted.emit()

        self._workers = [t for t in self._workers if t.is_alive()]
        thread = threading.Thread(target=run, name="backdrop-restart", daemon=True)
        self._workers.append(thread)
        thread.start()

    def _show_outputs(self) -> None:
        self.controls.show_vcam_status(self.session.vcam_status)
        self.controls.show_audio(self.session.audio_status, None, self.session.mic_problem)

    def _show_stats(self, snapshot) -> None:
        self.status.show_stats(snapshot)
        self.controls.show_audio(self.session.audio_status, snapshot.audio_delay_ms, self.session.mic_problem)

    def _restart_engine(self) -> None:
        self._in_background(self.session.restart)

    def _refresh_preview(self) -> None:
        latest = self.session.latest()
        if latest is None:
            return
        frame, image = latest
        if frame is not self._last_shown:
            self._last_shown = frame
            view = self.settings.view
            matte = self.session.latest_matte() if view == "matte" else None
            self.preview.show_image(frame.image if view == "before" else matte if matte is not None else image)

    _last_shown = None

    def _set_view(self, name: str) -> None:
        """Show the output ("after"), the camera ("before") or the matte ("matte")."""
        self.settings.view = name
        self._last_shown = None
        for button, (view, _) in zip(self.view_buttons.buttons(), VIEWS):
            button.setChecked(view == name)

    # -- user actions ----------------------------------------------------------------------------
    def choose_background(self, spec: str) -> None:
        """Switch the live background (loaded off the GUI thread)."""
        self.session.set_background(spec, on_done=lambda error: self.bridge.background_done.emit(spec, error))

    def _background_done(self, spec: str, error: object) -> None:
        if error is None:
            self.settings.background = spec
        else:
            self.gallery.select_spec(self.settings.background)

    def _add_background(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add backgrounds", str(Path.home()),
                                                dialog_filter())
        if files:
            self.gallery.add_files([Path(f) for f in files])

    def apply(self, name: str, value: object) -> None:
        """Apply one control's change to the engine (and remember it)."""
        if name == "camera" and value == "file":
            path, _ = QFileDialog.getOpenFileName(self, "Play a video file as the camera", str(Path.home()),
                                                  dialog_filter("video"))
            if not path:
                return
            value = path
        if hasattr(self.settings, name):
            setattr(self.settings, name, value)
        try:
            if name == "preset":  # may switch the model: restart off the GUI thread
                self._in_background(lambda: self.session.set_matte(preset=value))
            elif name in MATTE_KEYS:
                self.session.set_matte(**{name: value})
            elif name in EFFECT_KEYS:
                self.session.set_effects(**{name: value})
            elif name == "av_offset_ms":
                self.session.set_audio_offset(value)
            elif name == "blur_strength":
                if self.settings.background.startswith("blur"):
                    self.choose_background(f"blur:{value:.0f}")
            elif name in RESTART_KEYS:
                self.session.settings = live_settings(self.settings, self.session.settings.vcam_backend)
                self._restart_engine()
            elif name == "record":
                self.session.set_recording(Path(value) if value else None)
            elif name == "stream":
                self.session.set_stream(str(value) or None)
        except BackdropError as exc:
            self._warn(str(exc))

    def _warn(self, text: str) -> None:
        self.status.show_warning(text)

    # -- closing -----------------------------------------------------------------------------
    def save_settings(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.settings.window_state = bytes(self.saveState().toBase64()).decode()
        settings_store.save(self.settings, self.settings_path)

    def closeEvent(self, event) -> None:
        self.timer.stop()
        self._closing = True
        for worker in self._workers:
            worker.join(timeout=5.0)
        try:
            self.save_settings()
        except OSError as exc:
            self._warn(f"settings could not be saved: {exc}")
        self.session.stop(timeout=2.0)
        super().closeEvent(event)
