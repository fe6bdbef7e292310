"""The microphone in live recordings and streams (muxed by capture time), the statistics
line, and `backdrop run`'s audio options, on a real PulseAudio server (started here when
none runs) and, for the stream, a real nginx-rtmp server."""

from __future__ import annotations

import shutil
import time
from fractions import Fraction
from pathlib import Path

from support import media
import numpy as np
import pytest
from support.pulse import RATE, Player
from support.rtmp_server import RtmpServer, rtmp_module

from app.engine.audio import pulse
from app.engine.audio.capture import AudioCapture
from app.engine.audio.endpoints import resolve
from app.engine.backgrounds.base import ColourBackground
from app.engine.core.stats import PipelineStats
from app.engine.live.pipeline import LivePipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.video_file import VideoFileOutput
from app.engine.sources.demo import LiveDemoSource

SIZE = (320, 240)
# A microphone's clock estimate settles in its first ~3 s (the device's timing reports start
# out wrong; meanwhile the timeline may jump, which a tone's pitch shows); the tone checks
# below start after that, as a stream started some seconds into a session does.
CLOCK_SETTLE_S = 3.0


@pytest.fixture(scope="module")
def tone_mic(pa):
    """A 'microphone' (null sink monitor) playing a steady 1 kHz tone."""
    sink = pa.null_sink("tone", channels=1)
    t = np.arange(120 * RATE) / RATE
    player = Player(sink, (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32))
    yield f"{sink}.monitor"
    player.stop()


def live(outputs: list) -> LivePipeline:
    return LivePipeline(LiveDemoSource(SIZE, Fraction(30)), Segmenter("general", video=True), MatteRefiner(),
                        ColourBackground((0, 0, 255)), outputs)


@pytest.mark.slow
def test_a_live_recording_carries_the_microphone_for_its_whole_length(tmp_path, tone_mic):
    capture = AudioCapture(resolve(tone_mic, "input"))
    capture.start()
    record = tmp_path / "rec.mp4"
    pipeline = live([VideoFileOutput(record, Fraction(30), recording=True, live_audio=capture.tap())])
    try:
        time.sleep(CLOCK_SETTLE_S)  # the microphone is running before the first frame, as in `backdrop run`
        pipeline.start()
        time.sleep(3.0)
        pipeline.stop()
        pipeline.wait()
    finally:
        capture.close()
    info = media.probe(record)
    assert info.audio_codec == "aac"
    video_s = info.pts_seconds[-1] - info.pts_seconds[0] + 1 / 30
    assert abs(info.audio_start - info.pts_seconds[0]) < 0.03  # both tracks start together
    assert abs(info.audio_duration - video_s) < 0.1
    steady = info.audio[int(0.5 * info.audio_rate):int((video_s - 0.3) * info.audio_rate)]
    assert media.rms(steady) > 0.2, "the tone, not silence"
    assert abs(media.dominant_frequency(steady, info.audio_rate) - 1000.0) < 3.0


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists() or rtmp_module() is None,
                    reason="nginx with the rtmp module is not installed (install.sh installs it)")
@pytest.mark.slow
def test_the_stream_carries_the_microphone_instead_of_silence(tmp_path, tone_mic):
    from app.engine.outputs.rtmp_stream import RtmpStreamOutput

    server = RtmpServer(tmp_path / "nginx").start()
    capture = AudioCapture(resolve(tone_mic, "input"))
    capture.start()
    stream = RtmpStreamOutput(server.url(), 30.0, audio=capture.tap())
    pipeline = live([stream])
    try:
        time.sleep(CLOCK_SETTLE_S)
        pipeline.start()
        assert stream.connected.wait(10), stream.last_error
        time.sleep(3.0)
    finally:
        pipeline.stop()
        pipeline.wait()
        capture.close()
        server.stop()
    info = media.probe(server.recording())
    assert info.audio_codec == "aac"
    steady = info.audio[int(0.5 * info.audio_rate):-int(0.5 * info.audio_rate)]
    assert media.rms(steady) > 0.2
    assert abs(media.dominant_frequency(steady, info.audio_rate) - 1000.0) < 3.0


def test_the_statistics_line_shows_the_audio_delay():
    stats = PipelineStats()
    stats.frame_out(0.05)
    assert "audio" not in stats.snapshot().line()
    stats.set_audio_delay(87.4)
    snap = stats.snapshot()
    assert snap.audio_delay_ms == 87.4 and "audio delay  87 ms" in snap.line()
    for latency in (0.040, 0.050, 0.060):
        stats.first_output(latency)
    assert stats.sync_latency_ms() == pytest.approx(50.0)


def backdrop_mic_modules() -> set[int]:
    return {m[0] for m in pulse.modules() if "backdrop_mic" in m[2]}


@pytest.mark.slow
def test_run_with_a_missing_microphone_says_so_and_keeps_the_video_going(pa, run_cli):
    name = pa.name("nosuchmic")
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                     "--duration", "3", "--mic", name, "--no-virtual-mic")
    assert result.rc == 0, result.stderr
    warnings = [ln for ln in result.stderr.splitlines() if name in ln]
    assert len(warnings) == 1, result.stderr  # said once, not at every retry
    assert "not found" in warnings[0] and "video goes on" in warnings[0] and "retried" in warnings[0]
    assert "frames out" in result.stderr and " 0 frames out" not in result.stderr


@pytest.mark.slow
def test_run_creates_the_virtual_microphone_and_removes_it_on_exit(pa, tone_mic, run_cli):
    before = backdrop_mic_modules()
    result = run_cli("run", "--camera", "demo", "--size", "320x240", "--vcam-backend", "null", "--vcam",
                     "--duration", "4", "--mic", tone_mic, "--av-offset", "20")
    assert result.rc == 0, result.stderr
    if "in use by another Backdrop" not in result.stderr:  # (another run on this sound server has it)
        assert "virtual microphone 'Backdrop Microphone' ready" in result.stderr
        assert "audio delay" in result.stderr  # the statistics line
    assert backdrop_mic_modules() == before
