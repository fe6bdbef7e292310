"""The control panel under Xvfb (pytest-xvfb) with the real engine on a video file played
as the camera. The virtual camera device cannot exist here: the panel is given the null
pyvirtualcam backend, which stands in for v4l2loopback at that boundary."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import app.ui  # noqa: F401  (before Qt starts: keeps OpenCV's Qt plugin path away from PySide6)
from support import media
import numpy as np
from support.broken import mp4_broken_midway
from support import pulse as pulsetest
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from app.engine.audio import pulse
from app.engine.live.fields import FieldChanged
from app.engine.live.settings import LiveSettings
from app.ui import settings_store
from app.ui.gallery import THUMB
from app.ui.main_window import MainWindow
from app.ui.settings_store import PanelSettings

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", autouse=True)
def sound_server(request):
    """As on a desktop, the sound server runs before the panel opens: PortAudio reads its
    device list once, when the panel first lists microphones."""
    if pulsetest.sound_server_available():
        request.getfixturevalue("pa")


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory) -> Path:
    return media.make_video(tmp_path_factory.mktemp("panel") / "camera.mp4", frames=60, audio=False)


@pytest.fixture
def settings_path(tmp_path, camera_clip) -> Path:
    path = tmp_path / "config" / "settings.json"
    settings_store.save(LiveSettings(camera=str(camera_clip), size=(320, 240), background="blur", mic="none"),
                        PanelSettings(), path)
    return path


def open_window(qtbot, settings_path: Path) -> MainWindow:
    window = MainWindow(settings_path=settings_path, vcam_backend="null")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.preview.frames_shown > 3, timeout=20000)
    return window


def corner_rgb(window: MainWindow) -> np.ndarray:
    frame, image = window.session.latest()
    return image[:16, :16, :3].reshape(-1, 3).mean(axis=0)


def close(qtbot, window: MainWindow) -> float:
    start = time.monotonic()
    window.close()
    return time.monotonic() - start


def backdrop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("backdrop-") and t.is_alive()]


def test_switching_backgrounds_changes_the_preview(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    labels = [c.label for c in window.gallery.choices]
    window.gallery.choose_row(labels.index("White"))
    qtbot.waitUntil(lambda: corner_rgb(window).min() > 240, timeout=10000)
    shown_white = window.preview.current_image().pixelColor(2, 2)
    window.gallery.choose_row(labels.index("Green screen"))
    qtbot.waitUntil(lambda: corner_rgb(window)[1] > 150 and corner_rgb(window)[0] < 40, timeout=10000)
    qtbot.waitUntil(lambda: window.preview.current_image().pixelColor(2, 2) != shown_white, timeout=5000)
    assert window.settings.background == "#00b140"
    close(qtbot, window)


def test_number_keys_pick_the_first_nine_backgrounds(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window.preview, "3")  # third tile: White
    qtbot.waitUntil(lambda: window.settings.background == "#ffffff", timeout=10000)
    close(qtbot, window)


@pytest.mark.slow
def test_each_control_changes_the_engine_setting_it_names(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    c = window.controls
    qtbot.waitUntil(lambda: c.matte_note.text().startswith("auto: "), timeout=20000)  # what auto took, and why

    def refiner_settings():
        return window.session.pipeline.refiner.settings

    c.threshold.set_value(0.7)
    assert refiner_settings().threshold == pytest.approx(0.7, abs=0.011)
    c.smoothing.set_value(0.2)
    assert refiner_settings().smoothing == pytest.approx(0.2, abs=0.011)
    c.softness.set_value(0.5)
    assert refiner_settings().softness == pytest.approx(0.5, abs=0.011)
    c.grow.set_value(4)
    assert refiner_settings().grow == pytest.approx(4)
    c.feather.set_value(5)
    assert refiner_settings().feather == pytest.approx(5)
    c.invert.setChecked(True)
    assert refiner_settings().invert is True
    c.preset.setCurrentText("fast")
    c.preset.activated.emit(c.preset.currentIndex())
    qtbot.waitUntil(lambda: window.session.running and refiner_settings().preset == "fast", timeout=20000)
    qtbot.waitUntil(lambda: c.matte_note.text() == "fast: landscape on cpu", timeout=20000)
    c.model.setCurrentIndex(c.model.findData("landscape"))  # the preset picks "general" for a 4:3 camera
    c.model.activated.emit(c.model.currentIndex())
    qtbot.waitUntil(lambda: window.session.running and window.session.pipeline.segmenter.spec.input_size[1] == 144,
                    timeout=20000)
    c.blur_strength.set_value(50)
    qtbot.waitUntil(lambda: window.session.settings.background == "blur:50", timeout=10000)
    c.size.setCurrentText("640x360")
    c.size.activated.emit(c.size.currentIndex())
    qtbot.waitUntil(lambda: window.session.running and window.session.latest() is not None
                    and window.session.latest()[1].shape[:2] == (240, 320), timeout=20000)
    assert window.session.settings.size == (640, 360)  # a file as camera keeps its own size

    def effects():  # what the running compositor uses (a restart may still be under way)
        pipeline = window.session.pipeline
        return pipeline.compositor.settings if pipeline is not None else None

    c.light_wrap.set_value(0.4)
    qtbot.waitUntil(lambda: effects() is not None and abs(effects().light_wrap - 0.4) < 0.011, timeout=20000)
    c.colour_match.set_value(0.3)
    qtbot.waitUntil(lambda: effects() is not None and abs(effects().colour_match - 0.3) < 0.011, timeout=20000)
    c.av_offset.set_value(40)
    assert window.session.settings.av_offset_ms == pytest.approx(40)
    c.virtual_camera.setChecked(False)
    qtbot.waitUntil(lambda: window.session.status.vcam == "off", timeout=20000)
    c.virtual_camera.setChecked(True)
    qtbot.waitUntil(lambda: window.session.status.vcam.startswith("on:"), timeout=20000)
    close(qtbot, window)


@pytest.mark.slow
def test_settings_survive_a_restart(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    window.controls.threshold.set_value(0.65)
    window.controls.invert.setChecked(True)
    labels = [c.label for c in window.gallery.choices]
    window.gallery.choose_row(labels.index("White"))
    qtbot.waitUntil(lambda: window.settings.background == "#ffffff", timeout=10000)
    close(qtbot, window)
    saved = json.loads(settings_path.read_text())
    assert saved["threshold"] == pytest.approx(0.65, abs=0.011) and saved["invert"] is True
    assert saved["window_geometry"]
    again = open_window(qtbot, settings_path)
    assert again.controls.threshold.value() == pytest.approx(0.65, abs=0.011)
    assert again.controls.invert.isChecked()
    assert again.session.settings.background == "#ffffff"
    assert again.session.settings.matte.threshold == pytest.approx(0.65, abs=0.011)
    close(qtbot, again)


def test_a_corrupt_settings_file_is_set_aside(qtbot, settings_path):
    settings_path.write_text("{ this is not json")
    window = MainWindow(settings_path=settings_path, vcam_backend="null")
    qtbot.addWidget(window)
    window.show()
    assert any("could not be read" in w for w in window.status.warnings)
    assert list(settings_path.parent.glob("settings.json.corrupt-*"))
    assert window.settings.to_dict() == LiveSettings().to_dict()
    assert window.panel == PanelSettings(window_geometry=window.panel.window_geometry,
                                         window_state=window.panel.window_state)
    qtbot.waitUntil(lambda: window.session.running, timeout=20000)
    close(qtbot, window)


BAD_FIELDS = [('"size": 1280', "size", (1280, 720)), ('"threshold": 1.5', "threshold", 0.5),
              ('"fps": "fast"', "fps", 30.0), ('"grow": 1e18', "grow", 0.0), ('"smoothing": NaN', "smoothing", 0.8)]


@pytest.mark.parametrize("bad, name, default", BAD_FIELDS, ids=[b[1] for b in BAD_FIELDS])
@pytest.mark.slow
def test_a_settings_file_with_a_bad_field_opens_with_its_default_and_says_so(qtbot, capfd, settings_path,
                                                                              camera_clip, bad, name, default):
    text = f'{{"camera": "{camera_clip}", "mic": "none", "invert": true, "softness": 0.25, {bad}}}'
    settings_path.write_text(text)  # valid JSON (NaN too, for Python), one field wrong
    window = open_window(qtbot, settings_path)
    assert getattr(window.settings, name) == default
    assert window.settings.invert is True and window.settings.softness == 0.25, "the good fields are kept"
    assert window.session.pipeline.refiner.settings.invert is True
    kept = list(settings_path.parent.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == text
    assert f"backdrop: settings file {settings_path}: {name} must be" in capfd.readouterr().err

    def shown() -> str:
        label = window.status.problem_label
        return label.full_text() if label.isVisible() else ""

    assert name in shown() and kept[0].name in shown()
    window.status.show_warning("a routine message")  # neither it nor the figures replace the warning
    qtbot.waitUntil(lambda: window.status.figures.text() != "starting…", timeout=10000)
    assert name in shown() and window.status.problem_label.width() > 200
    close(qtbot, window)
    saved = settings_store.load(settings_path)
    assert saved.problem is None and saved.live.invert is True and getattr(saved.live, name) == default


def test_moving_the_threshold_control_sets_the_model_which_the_session_applies(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    events: list[FieldChanged] = []
    window.settings.subscribe(events.append)
    slider = window.controls.threshold.slider
    slider.setValue(slider.minimum() + round(0.3 * (slider.maximum() - slider.minimum())))  # as a drag ends
    assert [(e.name, e.model) for e in events] == [("threshold", window.settings)]
    assert window.settings.threshold == pytest.approx(0.3, abs=0.011)
    assert window.session.pipeline.refiner.settings.threshold == window.settings.threshold
    window.settings.threshold = 0.8  # and a change of the model shows on the control
    qtbot.waitUntil(lambda: abs(window.controls.threshold.value() - 0.8) < 0.011, timeout=5000)
    assert window.session.pipeline.refiner.settings.threshold == 0.8
    close(qtbot, window)


@pytest.mark.slow
def test_a_camera_file_that_breaks_while_playing_stays_shown_in_the_status_bar(qtbot, settings_path, tmp_path):
    bad = mp4_broken_midway(tmp_path / "broken.mp4")
    loaded = settings_store.load(settings_path)
    loaded.live.camera = str(bad)
    settings_store.save(loaded.live, loaded.panel, settings_path)
    window = MainWindow(settings_path=settings_path, vcam_backend="null")
    qtbot.addWidget(window)
    window.show()
    label = window.status.problem_label
    qtbot.waitUntil(lambda: label.isVisible() and "cannot be decoded" in label.full_text(), timeout=20000)
    assert "broken.mp4" in label.full_text() and "choose another camera" in label.full_text()
    window.status.show_warning("a routine message")
    qtbot.wait(200)
    assert label.isVisible() and "cannot be decoded" in label.full_text()
    window.settings.camera = "demo"  # choosing another camera clears it
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=20000)
    close(qtbot, window)


def test_without_a_camera_the_panel_opens_on_the_demo(qtbot, tmp_path):
    path = tmp_path / "settings.json"
    settings_store.save(LiveSettings(camera="/dev/video77", size=(320, 240), mic="none"), PanelSettings(), path)
    window = open_window(qtbot, path)
    assert window.session.status.source == "demo"
    qtbot.waitUntil(lambda: any("showing the demo" in w for w in window.status.warnings), timeout=5000)
    close(qtbot, window)


def test_closing_stops_everything_within_2s(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    took = close(qtbot, window)
    assert took < 2.5
    deadline = time.monotonic() + 2
    while backdrop_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backdrop_threads() == []


def test_the_matte_view_shows_the_cut_out(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    matte_button = next(b for b in window.view_buttons.buttons() if b.text() == "Matte")
    qtbot.mouseClick(matte_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.preview.current_image().format() == QImage.Format.Format_Grayscale8, timeout=5000)
    shown = window.preview.current_image()
    values = {shown.pixelColor(x, y).red() for x in range(0, shown.width(), 8) for y in range(0, shown.height(), 8)}
    assert min(values) < 20 and max(values) > 235, "person white, room black"
    assert window.panel.view == "matte"
    close(qtbot, window)


@pytest.mark.slow
def test_the_microphone_goes_to_a_virtual_microphone_delayed_by_the_video_latency(qtbot, settings_path, pa):
    mic = pa.null_sink("panel_mic")  # its monitor stands in for a microphone
    default = pulse.default_source()
    loaded = settings_store.load(settings_path)
    loaded.live.mic = f"{mic}.monitor"
    settings_store.save(loaded.live, loaded.panel, settings_path)
    window = open_window(qtbot, settings_path)
    qtbot.waitUntil(lambda: window.session.status.audio.startswith("on:"), timeout=10000)
    assert any(s.name == "backdrop_mic_source" for s in pulse.sources()), "apps can pick it"
    assert pulse.default_source() == default, "the user's default microphone is left alone"
    qtbot.waitUntil(lambda: "automatic" in window.controls.audio_status.text(), timeout=20000)

    def delay_follows_latency() -> bool:
        delay, latency = window.session.stats().audio_delay_ms, window.session.pipeline.video_latency_ms()
        return delay is not None and latency is not None and abs(delay - latency) < 20

    qtbot.waitUntil(delay_follows_latency, timeout=10000)
    assert "audio +" in window.status.figures.text()
    close(qtbot, window)
    assert not any(s.name == "backdrop_mic_source" for s in pulse.sources()), "removed on close"


def test_resting_on_a_moving_background_plays_it_in_its_tile(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    gallery = window.gallery
    row = next(i for i, c in enumerate(gallery.choices) if c.entry is not None and c.entry.kind == "shader")
    item = gallery.item(row)
    gallery.scrollToItem(item)

    def tile() -> bytes:
        return bytes(item.icon().pixmap(THUMB).toImage().constBits())

    still = tile()
    at = QPointF(gallery.visualItemRect(item).center())  # the pointer comes to rest on the tile
    QApplication.sendEvent(gallery.viewport(), QMouseEvent(QEvent.Type.MouseMove, at, gallery.viewport().mapToGlobal(at),
                                                          Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                          Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: gallery.motion.timer.isActive(), timeout=20000)
    seen: set[bytes] = set()
    qtbot.waitUntil(lambda: seen.add(tile()) or len(seen - {still}) >= 3, timeout=5000)
    gallery.motion.stop()
    assert tile() == still, "the still comes back when the pointer leaves"
    close(qtbot, window)
