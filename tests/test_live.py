"""Live mode: the live pipeline, the virtual camera, unplugging, idle release, `backdrop run`.

The virtual camera's device (v4l2loopback) cannot exist on these machines: it is faked at
the pyvirtualcam boundary by app.engine.outputs.null_camera, which records exactly what an
app reading the device would receive. Everything else (camera-like sources, segmentation,
compositing, recording) is real.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import cv2
from support import media
import numpy as np
import pytest

from app.engine.backgrounds.base import ColourBackground
from app.engine.core.frame import Frame, now_ns
from app.engine.live.pipeline import LivePipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.null_camera import NullCameraBackend
from app.engine.outputs.virtual_camera import VirtualCameraOutput, count_readers
from app.engine.sources.base import LiveSource, SourceLost
from app.engine.sources.demo import LiveDemoSource

SIZE = (320, 240)
GREEN = (0, 255, 0)


class UnpluggableSource(LiveSource):
    """A camera stand-in at 30 fps that can be 'unplugged' (raises SourceLost and refuses to
    reopen) and plugged back in, like a webcam on USB."""

    def __init__(self) -> None:
        super().__init__("unpluggable", Fraction(30))
        self.size = SIZE
        self.plugged = threading.Event()
        self.plugged.set()
        self.image = media.portrait(SIZE)

    def _open(self) -> None:
        if not self.plugged.is_set():
            raise SourceLost("still unplugged")

    def _capture(self) -> Iterator[Frame]:
        index = 0
        while not self._stop.is_set():
            if not self.plugged.is_set():
                raise SourceLost("unplugged")
            time.sleep(1 / 30)
            yield Frame(self.image, now_ns(), index)
            index += 1


class FailingSource(LiveSource):
    """Delivers `frames` frames at 30 fps, then its capture loop fails, as a bug would."""

    def __init__(self, frames: int = 5) -> None:
        super().__init__("failing", Fraction(30))
        self.size, self.frames = SIZE, frames
        self.image = media.portrait(SIZE)

    def _capture(self) -> Iterator[Frame]:
        for index in range(self.frames):
            time.sleep(1 / 30)
            yield Frame(self.image, now_ns(), index)
        raise RuntimeError("capture loop broke")


def i420_to_rgb(data: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    return cv2.cvtColor(data.reshape(h * 3 // 2, w), cv2.COLOR_YUV2RGB_I420)


def make_pipeline(source: LiveSource, outputs: list, **kw) -> LivePipeline:
    return LivePipeline(source, Segmenter("general", video=True), MatteRefiner(), ColourBackground(GREEN),
                        outputs, **kw)


def null_vcam(size=SIZE, fps=30.0, device: str | None = None) -> VirtualCameraOutput:
    return VirtualCameraOutput(size, fps, device=device, backend="null")


def backdrop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("backdrop-")]


@pytest.mark.slow
def test_live_pipeline_sends_composites_to_the_virtual_camera():
    vcam = null_vcam()
    pipeline = make_pipeline(LiveDemoSource(SIZE, Fraction(30)), [vcam])
    pipeline.start()
    time.sleep(1.5)
    pipeline.stop()
    pipeline.wait()
    log = NullCameraBackend.log
    assert (log.width, log.height, log.fps) == (320, 240, 30)
    assert log.closed
    assert 25 <= log.frames <= 60  # about 30 fps for 1.5 s, never more than the camera gives
    sent = log.last[-1]
    assert sent.size == 320 * 240 * 3 // 2  # I420
    rgb = i420_to_rgb(sent, SIZE)
    corner = rgb[:20, :20].reshape(-1, 3).mean(axis=0)
    assert corner[1] > 200 and corner[0] < 60 and corner[2] < 60  # the green background
    centre = rgb[110:130, 150:170].reshape(-1, 3).mean(axis=0)
    assert not (centre[1] > 200 and centre[0] < 60)  # the person, not green
    snap = pipeline.stats.snapshot()
    assert snap.frames_out >= 25 and snap.latency_ms_p50 > 0
    assert backdrop_threads() == []


@pytest.mark.slow
def test_pictures_held_back_for_the_sound_all_leave_in_order_none_dropped():
    """With a microphone on, each picture waits until its sound can reach the virtual
    microphone (release_after_ms); the pictures made meanwhile queue, they are not dropped."""
    vcam = null_vcam()
    pipeline = make_pipeline(LiveDemoSource(SIZE, Fraction(30)), [vcam])
    pipeline.release_after_ms = 150.0
    shown: list[int] = []
    pipeline.on_picture = lambda processed: shown.append(processed.frame.index)
    pipeline.start()
    time.sleep(3.0)
    pipeline.stop()
    pipeline.wait()
    snap = pipeline.stats.snapshot()
    assert snap.latency_ms_p50 >= 150.0, "held until 150 ms after capture"
    assert shown == sorted(shown), "in order"
    assert len(shown) >= 70, f"{len(shown)} pictures in 3 s (30 fps, less the 0.15 s hold)"
    assert snap.dropped <= 3, snap.dropped


@pytest.mark.slow
def test_unplugged_camera_keeps_the_virtual_camera_alive_and_resumes_within_2s():
    source = UnpluggableSource()
    vcam = null_vcam()
    pipeline = make_pipeline(source, [vcam])
    pipeline.start()
    time.sleep(0.8)
    source.plugged.clear()  # unplug
    time.sleep(0.3)
    during_start = (NullCameraBackend.log.frames, pipeline.stats.frames_out)
    time.sleep(1.0)
    during_end = (NullCameraBackend.log.frames, pipeline.stats.frames_out)
    assert during_end[0] - during_start[0] >= 10, "the virtual camera must keep getting the last picture"
    assert during_end[1] - during_start[1] <= 1, "no new frames while unplugged"
    assert source.lost
    source.plugged.set()  # plug back in
    replugged = time.monotonic()
    while pipeline.stats.frames_out <= during_end[1] + 5 and time.monotonic() - replugged < 4:
        time.sleep(0.05)
    assert time.monotonic() - replugged < 2.0, "new frames must flow within 2 s of the camera coming back"
    assert source.reconnects >= 1
    assert pipeline.error is None and source.error is None, "an unplugged camera is retried, not an error"
    pipeline.stop()
    pipeline.wait()
    assert backdrop_threads() == []


def test_a_source_error_stops_the_pipeline_reaches_on_error_once_and_wait_raises_it():
    reported: list[tuple[BaseException, str]] = []
    got = threading.Event()

    def on_error(exc: BaseException) -> None:
        reported.append((exc, threading.current_thread().name))
        got.set()

    pipeline = make_pipeline(FailingSource(), [null_vcam()], on_error=on_error)
    assert pipeline.error is None
    pipeline.start()
    assert got.wait(5.0), "on_error is called when the source fails"
    error, thread = reported[0]
    assert isinstance(error, RuntimeError) and str(error) == "capture loop broke"
    assert pipeline.error is error
    assert thread.startswith("backdrop-")
    with pytest.raises(RuntimeError, match="capture loop broke"):
        pipeline.wait(timeout=5.0)  # the pipeline stopped by itself: no stop() needed
    assert len(reported) == 1
    log = NullCameraBackend.log
    assert log.frames >= 1 and log.closed, "what came before the error was sent, and the output finalised"
    assert backdrop_threads() == []


def test_camera_is_released_while_nobody_reads_the_virtual_camera(monkeypatch):
    monkeypatch.setattr("app.engine.live.pipeline.IDLE_GRACE_S", 0.3)
    monkeypatch.setattr("app.engine.live.pipeline.READER_POLL_S", 0.1)
    readers = {"n": 0}
    source = UnpluggableSource()
    pipeline = make_pipeline(source, [null_vcam()], reader_check=lambda: readers["n"])
    pipeline.start()
    deadline = time.monotonic() + 3
    while not source.paused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert source.paused, "with no reader the webcam is released"
    frames = pipeline.stats.frames_out
    time.sleep(0.4)
    assert pipeline.stats.frames_out <= frames + 1
    readers["n"] = 1
    deadline = time.monotonic() + 3
    while pipeline.stats.frames_out < frames + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not source.paused and pipeline.stats.frames_out >= frames + 5
    pipeline.stop()
    pipeline.wait()


def test_count_readers_sees_another_process_holding_the_device(tmp_path):
    device = tmp_path / "video9"
    device.write_bytes(b"")
    assert count_readers(device) == 0
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(device)!r}); import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 5
        while count_readers(device) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count_readers(device) == 1
    finally:
        holder.kill()
        holder.wait()


def test_switching_background_while_running():
    vcam = null_vcam()
    pipeline = make_pipeline(LiveDemoSource(SIZE, Fraction(30)), [vcam])
    pipeline.start()
    time.sleep(0.5)
    pipeline.set_background(ColourBackground((0, 0, 255)))
    time.sleep(0.5)
    pipeline.stop()
    pipeline.wait()
    corner = i420_to_rgb(NullCameraBackend.log.last[-1], SIZE)[:20, :20].reshape(-1, 3).mean(axis=0)
    assert corner[2] > 200 and corner[1] < 60


def test_run_without_virtual_camera_device_says_how_to_create_one(run_cli):
    result = run_cli("run", "--camera", "demo", "--duration", "1")
    assert result.rc == 1
    assert len(result.error_lines) == 1
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1" in result.error_lines[0]


@pytest.mark.slow
def test_run_records_a_file_played_in_real_time(tmp_path, run_cli):
    clip = media.make_video(tmp_path / "in.mp4", frames=45, audio=False)
    record = tmp_path / "rec.mp4"
    result = run_cli("run", "--camera", clip, "--loop", "--vcam-backend", "null", "--vcam",
                     "--record", record, "--duration", "2", "--background", "white")
    assert result.rc == 0, result.stderr
    assert "latency p50" in result.stderr  # the once-a-second statistics line
    info = media.probe(record, decode_audio=False)
    assert 40 <= info.frames <= 65  # ~2 s at 30 fps, looping the 1.5 s clip
    assert info.size == (320, 240)
    assert 1.5 <= info.pts_seconds[-1] - info.pts_seconds[0] <= 2.2


@pytest.mark.slow
def test_ctrl_c_finalises_the_recording(tmp_path):
    record = tmp_path / "rec.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "app", "run", "--camera", "demo", "--size", "320x240",
                             "--record", str(record)], stderr=subprocess.PIPE, text=True,
                            cwd=str(media.REPO))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "latency p50" in line:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=20)
    finally:
        proc.kill()
    assert rc == 130  # stopped by SIGINT: 128 + 2, the recording finalised
    info = media.probe(record, decode_audio=False)
    assert info.frames >= 20


@pytest.mark.slow
def test_run_preview_opens_a_window_on_the_virtual_screen(run_cli):
    """pytest-xvfb provides the screen; the window shows the output while live mode runs."""
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--preview", "--mic", "none",
                     "--duration", "2", "--quiet")
    assert result.rc == 0, result.stderr


@pytest.mark.slow
def test_with_no_output_the_viewer_is_what_the_sound_follows():
    """A panel showing only its preview still measures the latency the audio is delayed by."""
    shown: list[int] = []
    pipeline = make_pipeline(LiveDemoSource(SIZE, Fraction(30)), [], on_picture=lambda p: shown.append(p.frame.index))
    pipeline.start()
    time.sleep(1.5)
    latency = pipeline.video_latency_ms()
    pipeline.stop()
    pipeline.wait()
    assert len(shown) >= 20
    assert latency is not None and 0 < latency < 1000
