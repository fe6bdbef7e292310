"""The threaded Pipeline in process: file sources lose nothing, live sources drop stale frames
behind a slow output, and errors or stop() discard the outputs."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from app.engine.backgrounds.base import ColourBackground
from app.engine.files.pipeline import Pipeline
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.sources.demo import DemoSource, LiveDemoSource

GREEN = (0, 255, 0)


class CollectingOutput:
    """An Output that keeps what it is given (optionally slowly, or failing at frame N)."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.delay, self.fail_at = delay, fail_at
        self.frames: list = []
        self.images: list[np.ndarray] = []
        self.closed = self.aborted = 0

    def write(self, frame, image) -> None:
        if self.fail_at is not None and len(self.frames) == self.fail_at:
            raise OSError("disk full")
        if self.delay:
            time.sleep(self.delay)
        self.frames.append(frame)
        self.images.append(image)

    def close(self) -> None:
        self.closed += 1

    def abort(self) -> None:
        self.aborted += 1


def backdrop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("backdrop-") and t.is_alive()]


@pytest.fixture
def video_segmenter():
    seg = Segmenter("general", video=True)
    yield seg
    seg.close()


def make_pipeline(source, segmenter, output, **kwargs) -> Pipeline:
    return Pipeline(source, segmenter, MatteRefiner(MatteSettings()), ColourBackground(GREEN), [output], **kwargs)


def test_file_source_delivers_every_frame_in_order(video_segmenter):
    source = DemoSource(size=(160, 120), frame_rate=Fraction(30), duration=0.5)
    out = CollectingOutput()
    stats = make_pipeline(source, video_segmenter, out).run()
    assert [f.index for f in out.frames] == list(range(15))
    assert [f.pts for f in out.frames] == list(range(15))
    assert out.closed == 1 and out.aborted == 0
    snap = stats.snapshot()
    assert snap.frames_in == snap.frames_out == 15 and snap.dropped == 0
    img = out.images[0]
    assert img.shape == (120, 160, 3)
    assert np.abs(img[:10, :10].astype(int) - GREEN).max() <= 3, "the room is replaced"
    assert backdrop_threads() == []


def test_matte_only_outputs_the_grey_matte(video_segmenter):
    source = DemoSource(size=(160, 120), frame_rate=Fraction(30), duration=0.1)
    out = CollectingOutput()
    make_pipeline(source, video_segmenter, out, matte_only=True).run()
    matte = out.images[0]
    assert matte.shape == (120, 160) and matte.dtype == np.uint8
    assert matte[60, 80] > 240 and matte[:10, :10].max() < 15


@pytest.mark.slow
def test_live_source_drops_stale_frames_behind_a_slow_output(video_segmenter):
    """The stages between source and output hold a few frames (bounded queues); beyond those,
    a 20 fps output behind a 60 fps camera gets every ~3rd frame, never a growing backlog."""
    source = LiveDemoSource(size=(320, 240), frame_rate=Fraction(60))
    out = CollectingOutput(delay=0.05)
    pipeline = make_pipeline(source, video_segmenter, out)
    pipeline.start()
    time.sleep(1.5)
    pipeline.finish()
    pipeline.wait()
    indices = [f.index for f in out.frames]
    assert 15 <= len(indices) <= 45, indices
    assert all(b > a for a, b in zip(indices, indices[1:])), indices
    tail = np.diff(indices[-8:])
    assert tail.min() >= 2 and np.median(tail) >= 2.5, indices
    snap = pipeline.stats.snapshot()
    assert snap.dropped > 0 and source.dropped >= indices[-1] - len(indices)
    # bounded backlog: a frame waits for at most the queued frames ahead of it
    assert snap.latency_ms_p95 < 1000, snap.line()
    assert out.closed == 1 and out.aborted == 0, "finish() keeps what was recorded"
    assert backdrop_threads() == []


def test_output_error_aborts_and_is_raised(video_segmenter):
    source = DemoSource(size=(160, 120), frame_rate=Fraction(30), duration=1.0)
    out = CollectingOutput(fail_at=3)
    with pytest.raises(OSError, match="disk full"):
        make_pipeline(source, video_segmenter, out).run()
    assert out.aborted == 1 and out.closed == 0
    assert backdrop_threads() == []


def test_stop_discards_the_outputs(video_segmenter):
    source = DemoSource(size=(160, 120), frame_rate=Fraction(30), duration=10.0)
    out = CollectingOutput(delay=0.02)
    pipeline = make_pipeline(source, video_segmenter, out)
    pipeline.start()
    time.sleep(0.3)
    pipeline.stop()
    pipeline.wait()
    assert out.aborted == 1 and out.closed == 0
    assert len(out.frames) < 300
    assert backdrop_threads() == []
