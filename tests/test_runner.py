"""The stage runner: both pipelines run their frames through it (same mattes, same stage
timings), it swaps backgrounds between frames and closes what it owns exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction

from support import media
import numpy as np
import pytest

from app.engine.backgrounds.base import ColourBackground
from app.engine.compositing.choose import make_compositor
from app.engine.compositing.cpu import CpuCompositor
from app.engine.core.frame import Frame, now_ns
from app.engine.core.stats import PipelineStats
from app.engine.files.pipeline import Pipeline
from app.engine.live.pipeline import LivePipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.runner import StageRunner
from app.engine.sources.base import LiveSource

SIZE = (160, 120)
FRAMES = 8
GREEN, BLUE = (0, 255, 0), (0, 0, 255)


class CountedBackground(ColourBackground):
    """A colour background that counts how often it is closed."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__(rgb)
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class CountedCompositor(CpuCompositor):
    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class ListSource:
    """A file-like source over fixed pictures: every frame, in order."""

    name, live, frame_rate, audio_path, dropped = "list", False, Fraction(30), None, 0

    def __init__(self, images: list[np.ndarray]) -> None:
        self.images = images
        self.expected_frames = len(images)

    def __iter__(self) -> Iterator[Frame]:
        for i, image in enumerate(self.images):
            yield Frame(image, now_ns(), i, pts=i, time_base=Fraction(1, 30))

    def close(self) -> None:
        pass


class PacedSource(LiveSource):
    """A live source over fixed pictures that hands over the next one only once the previous
    picture has come out (`taken` released), so the live pipeline drops none."""

    def __init__(self, images: list[np.ndarray]) -> None:
        super().__init__("paced", Fraction(30))
        self.size = SIZE
        self.images = images
        self.taken = threading.Semaphore(1)

    def _capture(self) -> Iterator[Frame]:
        for i, image in enumerate(self.images):
            while not self.taken.acquire(timeout=0.1):
                if self._stop.is_set():
                    return
            yield Frame(image, now_ns(), i)


class Collecting:
    def __init__(self) -> None:
        self.images: list[np.ndarray] = []

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.images.append(image)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [media.portrait(SIZE, i / 10) for i in range(FRAMES)]


def run_file(images: list[np.ndarray], matte_only: bool) -> tuple[list[np.ndarray], PipelineStats]:
    out = Collecting()
    segmenter = Segmenter("general", video=True)
    try:
        stats = Pipeline(ListSource(images), segmenter, MatteRefiner(), ColourBackground(GREEN), [out],
                         matte_only=matte_only, compositor=CpuCompositor()).run()
    finally:
        segmenter.close()
    return out.images, stats


def test_file_and_live_pipelines_give_the_same_mattes_and_stage_timings(images):
    file_mattes, file_stats = run_file(images, matte_only=True)
    file_composites, _ = run_file(images, matte_only=False)
    source = PacedSource(images)
    shown = []

    def picture(processed) -> None:
        shown.append(processed)
        source.taken.release()

    segmenter = Segmenter("general", video=True)
    live = LivePipeline(source, segmenter, MatteRefiner(), ColourBackground(GREEN), [], on_picture=picture,
                        compositor=CpuCompositor())
    try:
        live.start()
        assert live.wait(timeout=30), "the live pipeline ends with its source"
    finally:
        segmenter.close()
    assert [p.frame.index for p in shown] == list(range(FRAMES))
    assert len(file_mattes) == FRAMES and file_mattes[0].ndim == 2
    for i, processed in enumerate(shown):
        np.testing.assert_array_equal(processed.alpha, file_mattes[i], err_msg=f"matte of frame {i}")
        np.testing.assert_array_equal(processed.image, file_composites[i], err_msg=f"composite of frame {i}")
    assert file_mattes[0][60, 80] > 200 and file_mattes[0][:10, :10].max() < 30, "a person was cut out"
    for stats in (file_stats, live.stats):
        stage_ms = stats.snapshot().stage_ms
        assert all(stage_ms[name] > 0 for name in ("segment", "matte")), stage_ms
        assert "composite" in stage_ms
    assert live.stats.snapshot().stage_ms["composite"] > 0


def test_live_pipeline_composites_with_what_auto_picks():
    segmenter = Segmenter("general", video=True)
    expected = make_compositor("auto")
    live = LivePipeline(PacedSource([]), segmenter, MatteRefiner(), ColourBackground(GREEN), [])
    try:
        assert live.compositor.name == expected.name
    finally:
        expected.close()
        live.wait()
        segmenter.close()


def test_the_runner_swaps_backgrounds_between_frames_and_closes_each_once(images, segmenter):
    first, second, third = CountedBackground(GREEN), CountedBackground(BLUE), CountedBackground((255, 0, 0))
    compositor = CountedCompositor()
    stats = PipelineStats()
    runner = StageRunner(segmenter, MatteRefiner(), first, stats, compositor=compositor)
    frame = Frame(images[0], now_ns(), 0)
    out = runner.process(frame, 0.0)
    assert tuple(out.image[0, 0]) == GREEN
    runner.set_background(second)
    assert runner.background is second and first.closed == 0, "closed by the compositing call, not the caller"
    item = runner.segment(frame)
    out = runner.composite(item, 0.04)
    assert first.closed == 1 and tuple(out.image[0, 0]) == BLUE
    runner.set_background(third)  # retired, never used: closed by close()
    runner.close()
    runner.close()
    assert (first.closed, second.closed, third.closed) == (1, 1, 1)
    assert compositor.closed == 0, "a compositor given to the runner stays with the caller"
    stage_ms = stats.snapshot().stage_ms
    assert stage_ms["segment"] > 0 and stage_ms["matte"] > 0 and stage_ms["composite"] > 0


def test_the_runner_closes_the_compositor_it_owns(segmenter):
    compositor = CountedCompositor()
    owned = StageRunner(segmenter, MatteRefiner(), ColourBackground(GREEN), PipelineStats(),
                        compositor=compositor, owns_compositor=True)
    owned.close()
    owned.close()
    assert compositor.closed == 1


def test_matte_only_gives_the_matte_as_the_picture(images, segmenter):
    runner = StageRunner(segmenter, MatteRefiner(), ColourBackground(GREEN), PipelineStats(),
                         compositor=CpuCompositor(), matte_only=True)
    out = runner.process(Frame(images[0], now_ns(), 0), 0.0)
    runner.close()
    assert out.image is out.alpha and out.image.shape == (SIZE[1], SIZE[0])
