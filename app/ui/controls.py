"""The controls: camera, matte, effect and outputs. Each widget edits one setting and
emits `changed(name, value)`; the window applies it to the engine."""

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
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.engine.devices import MODPROBE_COMMAND, microphones, video_devices
from app.engine.matting.presets import PRESETS

SIZES = ("640x360", "960x540", "1280x720", "1920x1080")
FPS = ("15", "24", "30", "60")


class LabeledSlider(QWidget):
    """A slider over [lo, hi] with `steps` steps and its value shown beside it."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, value: float, steps: int = 100, fmt: str = "{:.2f}") -> None:
        super().__init__()
        self.lo, self.hi, self.steps, self.fmt = lo, hi, steps, fmt
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, steps)
        self.label = QLabel()
        self.label.setMinimumWidth(40)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.slider.valueChanged.connect(self._moved)
        self.set_value(value)

    def value(self) -> float:
        return self.lo + (self.hi - self.lo) * self.slider.value() / self.steps

    def set_value(self, value: float) -> None:
        self.slider.setValue(round((value - self.lo) / (self.hi - self.lo) * self.steps))
        self.label.setText(self.fmt.format(self.value()))

    def _moved(self, _: int) -> None:
        self.label.setText(self.fmt.format(self.value()))
        self.valueChanged.emit(self.value())


def section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setObjectName("SectionTitle")
    return label


class ControlsPanel(QWidget):
    """Emits `changed(name, value)` for: camera, size, fps, preset, smoothing, softness,
    threshold, grow, feather, invert, model, blur_strength, light_wrap, colour_match, virtual_camera,
    mic, virtual_mic, av_offset_ms, record, stream."""

    changed = Signal(str, object)

    def __init__(self, settings, parent=None) -> None:
        super().__init__(parent)
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
        if settings.camera not in ("demo", "file") and self.camera.findData(settings.camera) < 0:
            self.camera.insertItem(0, settings.camera, settings.camera)
        self.camera.setCurrentIndex(max(0, self.camera.findData(settings.camera)))
        self.size = QComboBox()
        self.size.addItems(SIZES)
        self.size.setCurrentText(settings.size)
        self.fps = QComboBox()
        self.fps.addItems(FPS)
        self.fps.setCurrentText(str(int(settings.fps)))
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
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText(settings.preset)
        self.preset.setToolTip("fast: least CPU, plain edges\n"
                               "balanced: edges that follow the picture, steady where you are still\n"
                               "quality: finer edges; a person standing back gets the sharper model (more CPU)")
        self.model = QComboBox()
        for label, value in (("Automatic (by quality and camera shape)", "auto"), ("General, 256x256", "general"),
                             ("Landscape, 256x144 (faster)", "landscape")):
            self.model.addItem(label, value)
        self.model.setCurrentIndex(max(0, self.model.findData(settings.model)))
        self.smoothing = LabeledSlider(0, 1, settings.smoothing)
        self.softness = LabeledSlider(0, 1, settings.softness)
        self.threshold = LabeledSlider(0.05, 0.95, settings.threshold, steps=90)
        self.grow = LabeledSlider(-20, 20, settings.grow, steps=40, fmt="{:+.0f} px")
        self.feather = LabeledSlider(0, 20, settings.feather, steps=40, fmt="{:.1f} px")
        self.invert = QCheckBox("Invert (remove the person, keep the room)")
        self.invert.setChecked(settings.invert)
        form = QFormLayout()
        form.addRow("Quality", self.preset)
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
        self.blur_strength = LabeledSlider(4, 80, settings.blur_strength, steps=76, fmt="{:.0f} px")
        self.light_wrap = LabeledSlider(0, 1, settings.light_wrap)
        self.light_wrap.setToolTip("Background light spilling onto your edges, so you sit in the scene")
        self.colour_match = LabeledSlider(0, 1, settings.colour_match)
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
        for spec, label in microphones():
            self.mic.addItem(label, spec)
        if self.mic.findData(settings.mic) < 0:
            self.mic.addItem(settings.mic, settings.mic)
        self.mic.setCurrentIndex(self.mic.findData(settings.mic))
        self.virtual_mic = QCheckBox("Virtual microphone (delayed to match the video)")
        self.virtual_mic.setChecked(settings.virtual_mic)
        self.av_offset = LabeledSlider(-300, 300, settings.av_offset_ms, steps=120, fmt="{:+.0f} ms")
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
        self.virtual_camera.setChecked(settings.virtual_camera)
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
        self.record_path = QLineEdit(settings.record_path)
        self.record_path.setPlaceholderText("recording.mp4")
        self.record = QPushButton("Record")
        self.record.setObjectName("Record")
        self.record.setCheckable(True)
        self.stream_url = QLineEdit(settings.stream_url)
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
        self._connect()

    @staticmethod
    def _card_with(inner) -> QFrame:
        frame = QFrame()
        frame.setObjectName("Card")
        frame.setLayout(inner)
        inner.setContentsMargins(12, 10, 12, 12)
        return frame

    def _connect(self) -> None:
        emit = self.changed.emit
        self.camera.activated.connect(lambda _: emit("camera", self.camera.currentData()))
        self.size.activated.connect(lambda _: emit("size", self.size.currentText()))
        self.fps.activated.connect(lambda _: emit("fps", float(self.fps.currentText())))
        self.preset.activated.connect(lambda _: emit("preset", self.preset.currentText()))
        self.model.activated.connect(lambda _: emit("model", self.model.currentData()))
        for name in ("smoothing", "softness", "threshold", "grow", "feather", "blur_strength", "light_wrap",
                     "colour_match"):
            getattr(self, name).valueChanged.connect(lambda v, n=name: emit(n, v))
        self.av_offset.valueChanged.connect(lambda v: emit("av_offset_ms", v))
        self.mic.activated.connect(lambda _: emit("mic", self.mic.currentData()))
        self.virtual_mic.toggled.connect(lambda on: emit("virtual_mic", on))
        self.invert.toggled.connect(lambda on: emit("invert", on))
        self.virtual_camera.toggled.connect(lambda on: emit("virtual_camera", on))
        self.record.toggled.connect(lambda on: emit("record", self.record_path.text().strip() if on else ""))
        self.stream.toggled.connect(lambda on: emit("stream", self.stream_url.text().strip() if on else ""))

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
