"""Source -> segmenter -> matte -> compositor -> outputs, in overlapping threads.

Three named threads: one reads (decodes) frames, one does the per-frame work (segment,
matte, composite), one writes outputs. Queues between them are bounded; for file sources
nothing is dropped, for live sources the reader only ever holds the newest frame.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import cv2

from app.engine.backgrounds.base import Background, TransparentBackground
from app.engine.compositing.base import Compositor
from app.engine.compositing.choose import make_compositor
from app.engine.core.frame import Frame, now_ns
from app.engine.core.memory import keep_freed_buffers
from app.engine.core.stats import PipelineStats
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.base import Output
from app.engine.runner import Processed
from app.engine.sources.base import Source

QUEUE_SIZE = 4
_END = object()


class Pipeline:
    """Runs `source` through the engine into `outputs` until the source ends or `stop()`.

    `matte_only` writes the alpha matte (grey) instead of the composite. `on_frame` is called
    from the writer thread after each frame with the statistics object. `compositor`
    defaults to `make_compositor("auto")` (GL on a GPU, else the CPU reference).
    """

    def __init__(self, source: Source, segmenter: Segmenter, refiner: MatteRefiner,
                 background: Background, outputs: list[Output], *, matte_only: bool = False,
                 on_frame: Callable[[PipelineStats], None] | None = None,
                 compositor: Compositor | None = None) -> None:
        self._owns_compositor = compositor is None
        self.compositor = compositor if compositor is not None else make_compositor("auto")
        self.source, self.segmenter, self.refiner = source, segmenter, refiner
        self.background, self.outputs = background, outputs
        self.matte_only, self.on_frame = matte_only, on_frame
        self.stats = PipelineStats()
        self._stop = threading.Event()
        self._finish = threading.Event()
        self._work_q: queue.Queue = queue.Queue(QUEUE_SIZE)
        self._write_q: queue.Queue = queue.Queue(QUEUE_SIZE)
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._time_origin: float | None = None

    # -- threads ---------------------------------------------------------------
    def _read(self) -> None:
        try:
            iterator = iter(self.source)
            while not (self._stop.is_set() or self._finish.is_set()):
                t0 = time.perf_counter()
                frame = next(iterator, None)
                if frame is None:
                    break
                self.stats.stage("decode", time.perf_counter() - t0)
                self.stats.frame_in()
                if not self._put(self._work_q, frame):
                    return
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._put(self._work_q, _END)

    def _work(self) -> None:
        try:
            while True:
                frame = self._get(self._work_q)
                if frame is _END or frame is None:
                    break
                result = self.process(frame)
                if not self._put(self._write_q, result):
                    return
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._put(self._write_q, _END)

    def _write(self) -> None:
        try:
            while True:
                item = self._get(self._write_q)
                if item is _END or item is None:
                    break
                t0 = time.perf_counter()
                for output in self.outputs:
                    output.write(item.frame, item.image)
                self.stats.stage("write", time.perf_counter() - t0)
                self.stats.frame_out((now_ns() - item.frame.capture_ns) / 1e9)
                self.stats.set_dropped(self.source.dropped)
                if self.on_frame is not None:
                    self.on_frame(self.stats)
        except BaseException as exc:
            self._fail(exc)

    # -- per-frame work ----------------------------------------------------------
    def process(self, frame: Frame) -> Processed:
        """Segment, refine and composite one frame (also usable without threads)."""
        t0 = time.perf_counter()
        confidence = self.segmenter.confidence(frame.image)
        t1 = time.perf_counter()
        alpha = self.refiner.refine(confidence, frame.image)
        t2 = time.perf_counter()
        if self.matte_only:
            image = alpha
        else:
            image = self.compositor.composite(frame.image, alpha, self.background, self._background_time(frame))
        t3 = time.perf_counter()
        self.stats.stage("segment", t1 - t0)
        self.stats.stage("matte", t2 - t1)
        self.stats.stage("composite", t3 - t2)
        return Processed(frame, image, alpha)

    def _background_time(self, frame: Frame) -> float:
        seconds = frame.seconds if frame.seconds is not None else frame.capture_ns / 1e9
        if self._time_origin is None:
            self._time_origin = seconds
        return seconds - self._time_origin

    # -- control ---------------------------------------------------------------
    def _put(self, q: queue.Queue, item: object) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> object:
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc)
        self._stop.set()

    def start(self) -> None:
        """Start the reader, worker and writer threads."""
        # The stages already run in parallel threads; OpenCV's own pool splitting each call
        # over both cores only makes them wait on each other (measured: ~35 -> ~44 fps at 720p).
        cv2.setNumThreads(1)
        keep_freed_buffers()  # frame-sized buffers reused, not page-faulted in each frame
        for name, target in (("read", self._read), ("work", self._work), ("write", self._write)):
            thread = threading.Thread(target=target, name=f"backdrop-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop at once; `wait()` then discards the unfinished outputs."""
        self._stop.set()

    def finish(self) -> None:
        """Stop reading new frames; what is in flight is written and outputs finalised."""
        self._finish.set()

    def wait(self) -> None:
        """Wait for the threads to end, then close the outputs, or discard them after
        `stop()` or an error (which is re-raised). Ctrl-C while waiting raises
        KeyboardInterrupt with the threads still running: call stop() or finish(), then
        wait() again."""
        for thread in self._threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
        self.source.close()
        self.background.close()
        if self._owns_compositor:
            self.compositor.close()
        if self._errors or self._stop.is_set():
            self._abort_outputs()
            if self._errors:
                raise self._errors[0]
            return
        failures = []
        for output in self.outputs:
            try:
                output.close()
            except BaseException as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _abort_outputs(self) -> None:
        for output in self.outputs:
            output.abort()

    def run(self) -> PipelineStats:
        """Start and wait; returns the final statistics. Ctrl-C discards the outputs."""
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.stop()
            self.wait()
            raise
        return self.stats


def is_transparent(background: Background) -> bool:
    return isinstance(background, TransparentBackground)
