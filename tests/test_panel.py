"""The control panel under Xvfb (pytest-xvfb) with the real engine on a video file played
as the camera. The virtual camera device cannot exist here: the panel is given the null
pyvirtualcam backend, which stands in for v4l2loopback at that boundary."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import app.ui  # noqa: F401  (before Qt starts: keeps OpenCV's Qt plugin path away from PySide6)
import media
from app.ui import settings_store
from app.ui.main_window import MainWindow
from app.ui.settings_store import PanelSettings

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory) -> Path:
    return media.make_video(tmp_path_factory.mktemp("panel") / "camera.mp4", frames=60, audio=False)


@pytest.fixture
def settings_path(tmp_path, camera_clip) -> Path:
    path = tmp_path / "config" / "settings.json"
    settings_store.save(PanelSettings(camera=str(camera_clip), size="320x240", background="blur"), path)
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


def test_each_control_changes_the_engine_setting_it_names(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    c = window.controls

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
    c.blur_strength.set_value(50)
    qtbot.waitUntil(lambda: window.session.settings.background == "blur:50", timeout=10000)
    c.size.setCurrentText("640x360")
    c.size.activated.emit(c.size.currentIndex())
    qtbot.waitUntil(lambda: window.session.running and window.session.latest() is not None
                    and window.session.latest()[1].shape[:2] == (240, 320), timeout=20000)
    assert window.session.settings.size == (640, 360)  # a file as camera keeps its own size
    c.virtual_camera.setChecked(False)
    qtbot.waitUntil(lambda: window.session.vcam_status == "off", timeout=20000)
    c.virtual_camera.setChecked(True)
    qtbot.waitUntil(lambda: window.session.vcam_status.startswith("on:"), timeout=20000)
    close(qtbot, window)


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
    assert "could not be read" in window.status.last_warning
    assert list(settings_path.parent.glob("settings.json.corrupt-*"))
    assert window.settings == PanelSettings(window_geometry=window.settings.window_geometry,
                                            window_state=window.settings.window_state)
    qtbot.waitUntil(lambda: window.session.running, timeout=20000)
    close(qtbot, window)


def test_without_a_camera_the_panel_opens_on_the_demo(qtbot, tmp_path):
    path = tmp_path / "settings.json"
    settings_store.save(PanelSettings(camera="/dev/video77", size="320x240"), path)
    window = open_window(qtbot, path)
    assert window.session.source_label == "demo"
    assert "showing the demo" in window.status.last_warning
    close(qtbot, window)


def test_closing_stops_everything_within_2s(qtbot, settings_path):
    window = open_window(qtbot, settings_path)
    took = close(qtbot, window)
    assert took < 2.5
    deadline = time.monotonic() + 2
    while backdrop_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backdrop_threads() == []
