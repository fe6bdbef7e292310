"""The controls: camera, matte, effect and outputs. Each widget edits one field of the
settings model (the session, subscribed to it, applies the change) and shows the field's
value when the model changes; sliders take their range from the field's declaration."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.core.errors import SettingsError
from app.engine.devices import MODPROBE_COMMAND, microphones, video_devices
from app.engine.live.fields import FieldChanged, SettingsModel
from app.engine.live.settings import MODELS, LiveSettings
from app.engine.matting.presets import PRESET_NAMES
from app.ui.bridge import EngineBridge
from app.ui.settings_store import PanelSettings
from app.ui.widgets import LabeledSlider, section, slider_for

SIZES = ("640x360", "960x540", "1280x720", "1920x1080")
FPS = ("15", "24", "30", "60")
MODEL_LABELS = {"auto": "Automatic (by quality and camera shape)", "general": "General, 256x256",
                "landscape": "Landscape, 256x144 (faster)", "rvm": "Robust Video Matting (sharper, more CPU)"}


class ControlsPanel(QWidget):
    """Controls over `settings` (the engine's) and `panel` (the panel's own). A control sets
    its field; changes made elsewhere (the session may put a value back from a worker
    thread) arrive through `bridge` and are shown. Actions that are not
    settings are signals: `video_file_wanted()` (the camera list's "Video file…"),
    `record_toggled(path or "")`, `stream_toggled(url or "")`, `problem(line)`."""

    video_file_wanted = Signal()
    record_toggled = Signal(str)
    stream_toggled = Signal(str)
    problem = Signal(str)

    def __init__(self, settings: LiveSettings, panel: PanelSettings, bridge: EngineBridge, parent=None) -> None:
        super().__init__(parent)
        self.settings, self.panel = settings, panel
        bridge.field_changed.connect(self.show_field)  # changes of the engine's settings, on the GUI thread
        panel.subscribe(self.show_field)  # the panel's own model changes on the GUI thread only
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        # camera
        self.camera = QComboBox()
        for dev in video_devices():
            if not dev.loopback:
                self.camera.addItem(f"{dev.name} ({dev.path})", dev.path)
        self.camera.addItem("Demo (no camera needed)", "demo")
        self.camera.addItem("Video file…", "file")
        self.size = QComboBox()
        self.size.addItems(SIZES)
        self.fps = QComboBox()
        self.fps.addItems(FPS)
        form = QFormLayout()
        form.addRow("Camera", self.camera)
        row = QHBoxLayout()
        row.addWidget(self.size, 2)
        row.addWidget(self.fps, 1)
        form.addRow("Size, fps", row)
        layout.addWidget(section("Camera"))
        layout.addWidget(self._card_with(form))

        # matte
        self.preset = QComboBox()
        for name in PRESET_NAMES:
            self.preset.addItem(name, name)
        self.preset.setToolTip("auto: measures at start what this machine runs at the camera's rate "
                               "and takes the best that fits (falls back if it does not keep up)\n"
                               "fast: least CPU, plain edges\n"
                               "balanced: edges that follow the picture, steady where you are still\n"
                               "quality: Robust Video Matting: hair and fast motion kept, finer edges (more CPU)")
        self.model = QComboBox()
        for value in MODELS:
            self.model.addItem(MODEL_LABELS[value], value)
        self.smoothing = slider_for(settings, "smoothing")
        self.softness = slider_for(settings, "softness")
        self.threshold = slider_for(settings, "threshold")
        self.grow = slider_for(settings, "grow", steps=100, fmt="{:+.0f} px")
        self.feather = slider_for(settings, "feather", steps=100, fmt="{:.1f} px")
        self.invert = QCheckBox("Invert (remove the person, keep the room)")
        form = QFormLayout()
        self.matte_note = QLabel()  # what runs, and under auto why (show_matte)
        self.matte_note.setObjectName("Hint")
        self.matte_note.setWordWrap(True)
        self.matte_note.setVisible(False)
        form.addRow("Quality", self.preset)
        form.addRow(self.matte_note)
        form.addRow("Model", self.model)
        form.addRow("Smoothing", self.smoothing)
        form.addRow("Edge softness", self.softness)
        form.addRow("Threshold", self.threshold)
        form.addRow("Grow / shrink", self.grow)
        form.addRow("Feather", self.feather)
        form.addRow(self.invert)
        layout.addWidget(section("Matte"))
        layout.addWidget(self._card_with(form))

        # effect
        self.blur_strength = slider_for(panel, "blur_strength", steps=76, fmt="{:.0f} px")
        self.light_wrap = slider_for(settings, "light_wrap")
        self.light_wrap.setToolTip("Background light spilling onto your edges, so you sit in the scene")
        self.colour_match = slider_for(settings, "colour_match")
        self.colour_match.setToolTip("Pull your brightness and white balance toward the background")
        form = QFormLayout()
        form.addRow("Blur strength", self.blur_strength)
        form.addRow("Light wrap", self.light_wrap)
        form.addRow("Colour match", self.colour_match)
        layout.addWidget(section("Effect"))
        layout.addWidget(self._card_with(form))

        # audio
        self.mic = QComboBox()
        self.mic.addItem("Off", "none")
        self.mic.addItem("System default", "default")
        self.mic.addItem("The video file's own sound", "file")  # when the camera is a video file
        for spec, label in microphones():
            self.mic.addItem(label, spec)
        self.virtual_mic = QCheckBox("Virtual microphone (delayed to match the video)")
        self.av_offset = slider_for(settings, "av_offset_ms", steps=100, fmt="{:+.0f} ms")
        self.av_offset.setToolTip("Added to the automatic delay: positive plays the sound later")
        self.audio_status = QLabel("")
        self.audio_status.setObjectName("Hint")
        self.audio_status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Microphone", self.mic)
        form.addRow(self.virtual_mic)
        form.addRow("Delay", self.audio_status)
        form.addRow("Offset", self.av_offset)
        layout.addWidget(section("Audio"))
        layout.addWidget(self._card_with(form))

        # outputs
        self.virtual_camera = QPushButton("Virtual camera")
        self.virtual_camera.setCheckable(True)
        self.vcam_status = QLabel("")
        self.vcam_status.setObjectName("Hint")
        self.vcam_status.setWordWrap(True)
        self.vcam_help = QLabel(f"No virtual camera device. Create one with:\n{MODPROBE_COMMAND}")
        self.vcam_help.setObjectName("Warning")
        self.vcam_help.setWordWrap(True)
        self.vcam_help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_command = QPushButton("Copy command")
        self.copy_command.clicked.connect(lambda: QGuiApplication.clipboard().setText(MODPROBE_COMMAND))
        self.vcam_help.hide()
        self.copy_command.hide()
        self.vcam_status.hide()
        self.record_path = QLineEdit(panel.record_path)
        self.record_path.setPlaceholderText("recording.mp4")
        self.record = QPushButton("Record")
        self.record.setObjectName("Record")
        self.record.setCheckable(True)
        self.stream_url = QLineEdit(panel.stream_url)
        self.stream_url.setPlaceholderText("rtmp://live.twitch.tv/app/KEY")
        self.stream = QPushButton("Go live")
        self.stream.setCheckable(True)
        out = QVBoxLayout()
        out.addWidget(self.virtual_camera)
        out.addWidget(self.vcam_status)
        out.addWidget(self.vcam_help)
        out.addWidget(self.copy_command)
        for field, button in ((self.record_path, self.record), (self.stream_url, self.stream)):
            r = QHBoxLayout()
            r.addWidget(field, 1)
            r.addWidget(button)
            out.addLayout(r)
        layout.addWidget(section("Outputs"))
        layout.addWidget(self._card_with(out))
        layout.addStretch(1)
        for name in (*self._shows(), "blur_strength"):
            self._show(name)
        self._connect()

    @staticmethod
    def _card_with(inner) -> QFrame:
        frame = QFrame()
        frame.setObjectName("Card")
        frame.setLayout(inner)
        inner.setContentsMargins(12, 10, 12, 12)
        return frame

    # -- model -> widgets ---------------------------------------------------------------------
    def _shows(self) -> dict[str, QWidget]:
        """The widget that shows each field of the engine's settings."""
        return {"camera": self.camera, "size": self.size, "fps": self.fps, "preset": self.preset, "model": self.model,
                "smoothing": self.smoothing, "softness": self.softness, "threshold": self.threshold,
                "grow": self.grow, "feather": self.feather, "invert": self.invert, "light_wrap": self.light_wrap,
                "colour_match": self.colour_match, "mic": self.mic, "virtual_mic": self.virtual_mic,
                "av_offset_ms": self.av_offset, "virtual_camera": self.virtual_camera}

    def show_field(self, event: FieldChanged) -> None:
        """Show a change of a field (made here or elsewhere) without setting it again."""
        if event.model is self.settings or event.name == "blur_strength":
            self._show(event.name)

    def _show(self, name: str) -> None:
        widget = self.blur_strength if name == "blur_strength" else self._shows().get(name)
        if widget is None:
            return
        value = getattr(self.panel if name == "blur_strength" else self.settings, name)
        blocked = widget.blockSignals(True)
        try:
            if isinstance(widget, LabeledSlider):
                if abs(widget.value() - value) > (widget.hi - widget.lo) / widget.steps / 2:
                    widget.set_value(value)
            elif isinstance(widget, (QCheckBox, QPushButton)):
                widget.setChecked(bool(value))
            elif name in ("size", "fps"):
                text = f"{value[0]}x{value[1]}" if name == "size" else f"{value:g}"
                if widget.findText(text) < 0:
                    widget.addItem(text)
                widget.setCurrentText(text)
            elif isinstance(widget, QComboBox):
                if widget.findData(value) < 0:
                    widget.insertItem(0 if name == "camera" else widget.count(), str(value), value)
                widget.setCurrentIndex(widget.findData(value))
        finally:
            widget.blockSignals(blocked)

    # -- widgets -> model ---------------------------------------------------------------------
    def _set(self, model: SettingsModel, name: str, value: object) -> None:
        try:
            model.set(name, value)
        except SettingsError as exc:
            self.problem.emit(str(exc))
            self._show(name)

    def _pick_camera(self) -> None:
        value = self.camera.currentData()
        if value == "file":
            self._show("camera")  # stays on the camera in use until a file is chosen
            self.video_file_wanted.emit()
        else:
            self._set(self.settings, "camera", value)

    def _connect(self) -> None:
        s = self.settings
        self.camera.activated.connect(lambda _: self._pick_camera())
        self.size.activated.connect(lambda _: self._set(s, "size", self.size.currentText()))
        self.fps.activated.connect(lambda _: self._set(s, "fps", float(self.fps.currentText())))
        for name in ("preset", "model", "mic"):
            combo: QComboBox = getattr(self, name)
            combo.activated.connect(lambda _, n=name, c=combo: self._set(s, n, c.currentData() or c.currentText()))
        for name, widget in self._shows().items():
            if isinstance(widget, LabeledSlider):
                widget.valueChanged.connect(lambda v, n=name: self._set(s, n, v))
            elif isinstance(widget, (QCheckBox, QPushButton)):
                widget.toggled.connect(lambda on, n=name: self._set(s, n, on))
        self.blur_strength.valueChanged.connect(lambda v: self._set(self.panel, "blur_strength", v))
        self.record_path.editingFinished.connect(
            lambda: self._set(self.panel, "record_path", self.record_path.text().strip()))
        self.stream_url.editingFinished.connect(
            lambda: self._set(self.panel, "stream_url", self.stream_url.text().strip()))
        self.record.toggled.connect(lambda on: self.record_toggled.emit(self.record_path.text().strip() if on else ""))
        self.stream.toggled.connect(lambda on: self.stream_toggled.emit(self.stream_url.text().strip() if on else ""))

    def show_audio(self, status: str, delay_ms: float | None, problem: str | None = None) -> None:
        """`status` from the session ('off', 'on: NAME', 'missing', 'recordings only'), the
        delay the microphone is played with now, and why the microphone is not heard, if so."""
        if status == "off":
            text = "Microphone off"
        elif problem:
            text = f"Microphone not heard: {problem}"
        elif delay_ms is None:
            text = "Waiting for the first frames…" if status.startswith("on:") else status.capitalize()
        else:
            where = f"to {status[4:]}" if status.startswith("on:") else status
            text = f"{delay_ms:.0f} ms, automatic ({where})"
        self.audio_status.setText(text)

    def show_vcam_status(self, status: str) -> None:
        """'on: /dev/video4', 'off' or 'missing' (shows the setup instructions)."""
        missing = status == "missing"
        self.vcam_help.setVisible(missing)
        self.copy_command.setVisible(missing)
        self.vcam_status.setText("" if missing else ("Sending to " + status[4:] if status.startswith("on:") else "Off"))
        self.vcam_status.setVisible(bool(self.vcam_status.text()))

    def show_matte(self, text: str) -> None:
        """The preset and model in use ('auto: balanced (landscape on cpu: 9 ms ...)')."""
        self.matte_note.setText(text)
        self.matte_note.setToolTip(text)
        self.matte_note.setVisible(bool(text))
