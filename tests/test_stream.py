"""RTMP streaming against a real nginx-rtmp server on 127.0.0.1 (installed by install.sh)."""

from __future__ import annotations

import shutil
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
from support import media
import pytest
from support.rtmp_server import RtmpServer, rtmp_module

from app.engine.backgrounds.base import ColourBackground
from app.engine.live.pipeline import LivePipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.null_camera import NullCameraBackend
from app.engine.outputs.rtmp_stream import RtmpStreamOutput
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.sources.demo import LiveDemoSource

NGINX_PRESENT = shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()
if not NGINX_PRESENT or rtmp_module() is None:
    pytest.skip("nginx with the rtmp module is not installed (install.sh installs it)", allow_module_level=True)

SIZE = (320, 240)


@pytest.fixture
def server(tmp_path):
    srv = RtmpServer(tmp_path / "nginx").start()
    yield srv
    srv.stop()


def live(stream: RtmpStreamOutput, vcam: VirtualCameraOutput | None = None) -> LivePipeline:
    outputs = [stream] + ([vcam] if vcam else [])
    return LivePipeline(LiveDemoSource(SIZE, Fraction(30)), Segmenter("general", video=True), MatteRefiner(),
                        ColourBackground((20, 40, 200)), outputs)


@pytest.mark.slow
def test_run_streams_h264_and_aac_that_the_server_receives(server, run_cli):
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--stream", server.url(),
                     "--duration", "3", "--quiet")
    assert result.rc == 0, result.stderr
    info = media.probe(server.recording())
    assert info.codec == "h264" and info.audio_codec == "aac"
    assert info.size == SIZE
    assert 60 <= info.frames <= 100
    assert 2.3 <= info.pts_seconds[-1] - info.pts_seconds[0] <= 3.3


@pytest.mark.slow
def test_stream_can_be_played_back_live_with_keyframes_every_2s(server):
    stream = RtmpStreamOutput(server.url(), 30.0)
    pipeline = live(stream)
    pipeline.start()
    try:
        assert stream.connected.wait(10)
        time.sleep(0.5)
        with av.open(server.url(), timeout=(5.0, 5.0)) as player:
            frames = []
            for vf in player.decode(video=0):
                frames.append(vf)
                if len(frames) >= 10:
                    break
        assert (frames[0].width, frames[0].height) == SIZE
        time.sleep(3.0)
    finally:
        pipeline.stop()
        pipeline.wait()
    with av.open(str(server.recording())) as rec:
        key_times = [float(p.pts * p.time_base) for p in rec.demux(video=0) if p.is_keyframe and p.pts is not None]
    gaps = [b - a for a, b in zip(key_times, key_times[1:])]
    assert gaps, key_times
    assert all(1.8 <= g <= 2.2 for g in gaps), gaps


@pytest.mark.slow
def test_with_nothing_listening_the_stream_never_says_connected(tmp_path, caplog):
    srv = RtmpServer(tmp_path / "nginx")  # never started: connections are refused
    stream = RtmpStreamOutput(srv.url(), 30.0)
    states: list[str] = []
    pipeline = live(stream)
    pipeline.stats_interval = 0.25
    pipeline.on_stats = lambda snap: states.append(snap.outputs)
    with caplog.at_level("INFO", logger="backdrop.stream"):
        pipeline.start()
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            assert not stream.connected.is_set(), "connected with nothing listening"
            time.sleep(0.02)
        pipeline.stop()
        pipeline.wait()
    assert stream.connections == 0 and ": connected" not in caplog.text
    assert any(s.startswith("stream retrying (") for s in states), states
    assert all("connected" not in s for s in states) and states[-1].endswith(" dropped"), states


def test_the_statistics_line_says_connected_once_the_server_took_the_stream(server):
    stream = RtmpStreamOutput(server.url(), 30.0)
    pipeline = live(stream)
    snaps = []
    pipeline.stats_interval = 0.25
    pipeline.on_stats = snaps.append
    pipeline.start()
    try:
        assert stream.connected.wait(12), stream.last_error
        time.sleep(0.6)
    finally:
        pipeline.stop()
        pipeline.wait()
    assert "stream connected, " in snaps[-1].outputs and "| stream connected" in snaps[-1].line()


@pytest.mark.slow
def test_stream_reconnects_while_live_view_keeps_running(tmp_path):
    srv = RtmpServer(tmp_path / "nginx")  # not started yet: the network is "down"
    stream = RtmpStreamOutput(srv.url(), 30.0)
    vcam = VirtualCameraOutput(SIZE, 30.0, backend="null")
    pipeline = live(stream, vcam)
    pipeline.start()
    try:
        time.sleep(1.5)
        assert not stream.connected.is_set()
        assert NullCameraBackend.log.frames >= 25, "the virtual camera keeps running without the server"
        assert stream.dropped > 0 and stream._queue.qsize() <= 8, "no unbounded buffering"
        srv.start()
        assert stream.connected.wait(12), stream.last_error
        time.sleep(1.5)
        assert stream.sent >= 20
        srv.stop()  # the connection drops mid-stream
        deadline = time.monotonic() + 10
        while stream.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not stream.connected.is_set()
        sent_before = NullCameraBackend.log.frames
        time.sleep(1.0)
        assert NullCameraBackend.log.frames > sent_before + 20
        srv.start()
        assert stream.connected.wait(12), stream.last_error
        assert stream.connections >= 2
    finally:
        pipeline.stop()
        pipeline.wait()
        srv.stop()
    assert not any(t.name == "backdrop-stream" for t in threading.enumerate())


@pytest.mark.slow
def test_the_stream_key_is_never_printed(tmp_path, caplog):
    srv = RtmpServer(tmp_path / "nginx")  # not started: the stream keeps retrying, and says so
    url = srv.url()
    key = url.rsplit("/", 1)[1]
    stream = RtmpStreamOutput(url, 30.0)
    pipeline = live(stream)
    with caplog.at_level("INFO", logger="backdrop.stream"):
        pipeline.start()
        time.sleep(2.0)
        pipeline.stop()
        pipeline.wait()
    assert "retrying" in caplog.text and key not in caplog.text and key not in stream.label
