"""The per-frame stages, run the same way by the file and the live pipelines."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from app.engine.backgrounds.base import Background
from app.engine.compositing.base import Compositor
from app.engine.compositing.choose import make_compositor
from app.engine.core.frame import Frame
from app.engine.core.stats import PipelineStats
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter


@dataclass
class Segmented:
    """One frame and the model's confidence for it (the input of `StageRunner.composite`)."""

    frame: Frame
    confidence: np.ndarray


@dataclass
class Processed:
    """One frame's result: the output picture (RGB, RGBA or grey matte) and its alpha."""

    frame: Frame
    image: np.ndarray
    alpha: np.ndarray


class StageRunner:
    """Segment, then refine + composite, one frame at a time; each stage's time goes into
    `stats` ("segment", "matte", "composite").

    `segment(frame)` and `composite(segmented, seconds)` may run in two threads (one call of
    each at a time); `process` runs both. `matte_only` makes the picture the grey matte.
    `set_background` may be called from any thread: the new background is used from the
    next `composite`, and the one it replaces is closed by the thread calling `composite`
    (or by `close`). `compositor` defaults to `make_compositor("auto")`; it is closed with
    the runner when made here or when `owns_compositor`. The segmenter and the refiner stay
    with whoever made them; `switch_matte` (any thread) hands over a new segmenter and matte
    settings from the next `segment`, and the segmenter it replaces is closed there.
    `close()` is idempotent; call it once no stage is running.
    """

    def __init__(self, segmenter: Segmenter, refiner: MatteRefiner, background: Background,
                 stats: PipelineStats, *, compositor: Compositor | None = None,
                 owns_compositor: bool | None = None, matte_only: bool = False) -> None:
        self.segmenter, self.refiner, self.stats = segmenter, refiner, stats
        stats.model = segmenter.description
        self._owns_compositor = compositor is None if owns_compositor is None else owns_compositor
        self.compositor: Compositor = compositor if compositor is not None else make_compositor("auto")
        self.matte_only = matte_only
        self._background = background
        self._retired: list[Background] = []
        self._next_matte: tuple[Segmenter, MatteSettings] | None = None
        self._swap = threading.Lock()  # set_background and switch_matte: never taken per frame
        self._closed = False

    @property
    def background(self) -> Background:
        return self._background

    def set_background(self, background: Background) -> None:
        """Use `background` from the next frame on; the old one is closed by the compositing
        thread (or by `close`)."""
        with self._swap:
            old, self._background = self._background, background
            self._retired.append(old)

    def switch_matte(self, segmenter: Segmenter, settings: MatteSettings) -> None:
        """Segment with `segmenter` and refine with `settings` from the next frame on (the
        auto preset's fallback); the old segmenter is closed by the segmenting thread."""
        with self._swap:
            if self._closed:
                replaced, self._next_matte = (segmenter, settings), None
            else:
                replaced, self._next_matte = self._next_matte, (segmenter, settings)
        if replaced is not None:  # handed over twice before a frame came, or after the end
            replaced[0].close()

    def _take_next_matte(self) -> None:
        with self._swap:
            pending, self._next_matte = self._next_matte, None
        if pending is not None:
            old, (self.segmenter, self.refiner.settings) = self.segmenter, pending
            self.stats.model = self.segmenter.description
            old.close()

    def segment(self, frame: Frame) -> Segmented:
        """The model's confidence for `frame`."""
        if self._next_matte is not None:
            self._take_next_matte()
        t0 = time.perf_counter()
        confidence = self.segmenter.confidence(frame.image)
        self.stats.stage("segment", time.perf_counter() - t0)
        return Segmented(frame, confidence)

    def composite(self, item: Segmented, seconds: float) -> Processed:
        """Refine the matte and put the frame over the background as it is at `seconds`."""
        while self._retired:
            self._retired.pop().close()
        image_in = item.frame.image
        t0 = time.perf_counter()
        alpha = self.refiner.refine(item.confidence, image_in)
        t1 = time.perf_counter()
        image = alpha if self.matte_only else self.compositor.composite(image_in, alpha, self._background, seconds)
        self.stats.stage("matte", t1 - t0)
        self.stats.stage("composite", time.perf_counter() - t1)
        return Processed(item.frame, image, alpha)

    def process(self, frame: Frame, seconds: float) -> Processed:
        """Both stages for one frame, in the calling thread."""
        return self.composite(self.segment(frame), seconds)

    def close(self) -> None:
        """Close the backgrounds and, when owned, the compositor; later calls do nothing."""
        with self._swap:
            if self._closed:
                return
            self._closed = True
            backgrounds, self._retired = [*self._retired, self._background], []
            pending, self._next_matte = self._next_matte, None
        if pending is not None:
            pending[0].close()
        try:
            for background in backgrounds:
                background.close()
        finally:
            if self._owns_compositor:
                self.compositor.close()


class RunsStages:
    """What a driver shows of the StageRunner it schedules (`self._runner`)."""

    _runner: StageRunner

    @property
    def segmenter(self) -> Segmenter:
        return self._runner.segmenter

    @property
    def refiner(self) -> MatteRefiner:
        return self._runner.refiner

    @property
    def compositor(self) -> Compositor:
        return self._runner.compositor

    def switch_matte(self, segmenter: Segmenter, settings: MatteSettings) -> None:
        """See `StageRunner.switch_matte`."""
        self._runner.switch_matte(segmenter, settings)

    @property
    def background(self) -> Background:
        return self._runner.background

    def set_background(self, background: Background) -> None:
        """Use `background` from the next frame on; the old one is closed by the compositing
        thread."""
        self._runner.set_background(background)
