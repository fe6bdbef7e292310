"""The live session follows its settings model: live fields reach the running pipeline at
once, restart fields restart it off the caller's thread, and what happens is published as a
LiveStatus. Real engine, demo source or a file as the camera, the null virtual camera."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.broken import mp4_broken_midway

from app.engine.live.session import LiveSession
from app.engine.live.settings import LiveSettings
from app.engine.live.status import StatusChanged

pytestmark = pytest.mark.timeout(120)


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


class Recorder:
    """Keeps every StatusChanged, from whichever thread it comes."""

    def __init__(self) -> None:
        self.events: list[StatusChanged] = []
        self._lock = threading.Lock()

    def __call__(self, event: StatusChanged) -> None:
        with self._lock:
            self.events.append(event)

    def named(self, field: str) -> list[StatusChanged]:
        with self._lock:
            return [e for e in self.events if field in e.changed]


@pytest.fixture
def session():
    settings = LiveSettings(camera="demo", size=(320, 240), mic="none", vcam_backend="null")
    live = LiveSession(settings)
    yield live
    live.close()


def test_live_fields_reach_the_running_pipeline_from_the_model(session):
    recorder = Recorder()
    session.subscribe(recorder)
    session.start()
    assert session.status.running and session.status.source == "demo"
    assert session.status.vcam.startswith("on:") and session.status.compositor in ("cpu", "gl")
    pipeline = session.pipeline
    session.settings.threshold = 0.7
    session.settings.invert = True
    assert pipeline.refiner.settings.threshold == 0.7 and pipeline.refiner.settings.invert is True
    session.settings.light_wrap = 0.4
    assert pipeline.compositor.settings.light_wrap == 0.4
    time.sleep(0.3)
    assert session.pipeline is pipeline and not session.restarting, "live changes do not restart"
    assert recorder.named("running")[0].status.running


def test_restart_fields_restart_off_the_callers_thread(session):
    session.start()
    first = session.pipeline
    session.settings.compositor = "cpu"
    session.settings.size = (160, 120)  # both merge into one restart (or two), never on this thread
    wait_for(lambda: not session.restarting and session.pipeline is not None and session.pipeline is not first)
    assert session.pipeline.source.size == (160, 120)
    assert session.status.compositor == "cpu" and session.status.running


def test_a_preset_that_runs_another_model_restarts_with_it(session):
    session.settings.preset = "balanced"
    session.start()
    first = session.pipeline
    assert session.status.matte == "balanced: general on cpu"
    assert first.segmenter.spec.input_size[1] == 256  # 4:3 frames: the general model
    session.settings.preset = "fast"  # the landscape model
    assert first.refiner.settings.preset == "fast"
    wait_for(lambda: not session.restarting and session.pipeline is not None and session.pipeline is not first)
    assert session.pipeline.segmenter.spec.input_size[1] == 144


def test_auto_measures_at_start_says_what_it_took_and_keeps_it_across_a_restart(session):
    session.start()  # the default preset: auto
    took = session.pipeline.refiner.settings.preset
    assert took in ("quality", "balanced")
    assert session.status.matte.startswith(f"auto: {took} (") and " ms a frame " in session.status.matte
    assert session.pipeline.segmenter.model.name == ("rvm" if took == "quality" else "general")
    first = session.pipeline
    session.settings.compositor = "cpu"  # a restart, same camera, size and rate: not measured again
    wait_for(lambda: not session.restarting and session.pipeline is not None and session.pipeline is not first)
    assert session.status.matte == f"auto: {took} (chosen before for this stream)"
    session.settings.threshold = 0.6  # a matte change under auto keeps what auto took
    assert session.pipeline.refiner.settings.preset == took and session.pipeline.refiner.settings.threshold == 0.6


def test_a_background_that_cannot_be_loaded_puts_the_previous_one_back(session, tmp_path):
    recorder = Recorder()
    session.subscribe(recorder)
    session.start()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a picture")
    session.settings.background = str(bad)
    wait_for(lambda: session.settings.background == "blur")
    assert str(bad) in session.status.warning and recorder.named("warning")


@pytest.mark.slow
def test_a_camera_file_that_breaks_while_playing_is_published_as_the_status_error(tmp_path):
    bad = mp4_broken_midway(tmp_path / "broken.mp4")
    recorder = Recorder()
    live = LiveSession(LiveSettings(camera=str(bad), mic="none", virtual_camera=False))
    live.subscribe(recorder)
    try:
        live.start()
        wait_for(lambda: live.status.error is not None)
        error = live.status.error
        assert "broken.mp4" in error and "cannot be decoded" in error and "choose another camera" in error
        assert recorder.named("error")[-1].status.error == error and not live.status.running
        live.settings.camera = "demo"  # what the user does next
        wait_for(lambda: live.status.running and live.status.source == "demo")
        assert live.status.error is None
    finally:
        live.close()


def test_close_stops_following_the_settings(session):
    session.start()
    session.close()
    session.settings.size = (160, 120)
    time.sleep(0.2)
    assert session.pipeline is None and not session.restarting and not session.status.running


def test_recording_reopens_the_outputs(session, tmp_path: Path):
    session.start()
    first = session.pipeline
    out = tmp_path / "rec.mp4"
    session.set_recording(out)
    wait_for(lambda: not session.restarting and session.pipeline is not None and session.pipeline is not first)
    time.sleep(0.5)
    session.set_recording(None)
    wait_for(lambda: not session.restarting and out.exists() and out.stat().st_size > 0)
