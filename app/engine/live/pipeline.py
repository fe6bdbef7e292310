"""The live path: camera -> segment -> matte + composite -> outputs, at the camera's rate.

Four named threads hand over through one-item slots (`LatestSlot`), so nothing ever queues:
capture (the source's own), segment, composite, output. The model works on frame N+1
while frame N is composited; each matte stays with its own frame. When processing falls
behind, frames are dropped and counted, never delayed. The output thread writes every new
picture and, if none is due within 1.5 frame periods (camera lost, paused), re-sends the
last one to outputs that must never freeze (the virtual camera).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import cv2

from app.engine.backgrounds.base import Background
from app.engine.compositing.base import Compositor
from app.engine.core.frame import now_ns
from app.engine.core.memory import keep_freed_buffers
from app.engine.core.slots import LatestSlot
from app.engine.core.stats import PipelineStats, StatsSnapshot
from app.engine.core.threads import Worker
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.base import Output, ReportsState, failure_line
from app.engine.runner import Processed, RunsStages, Segmented, StageRunner
from app.engine.sources.base import LiveSource

log = logging.getLogger("backdrop.live")

READER_POLL_S = 1.0
IDLE_GRACE_S = 3.0  # no reader this long: release the webcam
MAX_HOLD_S = 0.5  # the longest a frame is held for the audio (release_after_ms)
CLOSE_TIMEOUT_S = 3.0  # a worker still running this long after the end is logged


class LivePipeline(RunsStages):
    """Runs a live source to outputs until `stop()`; outputs are closed (finalised) at the end.

    `on_stats` is called from the output thread about once per `stats_interval` seconds.
    `reader_check`, if given, returns how many apps read the virtual camera (None: unknown);
    with `pause_without_readers`, the source is paused (webcam released, light off) when
    nobody has read for IDLE_GRACE_S and resumed when a reader appears.
    `video_latency_ms()` is the smoothed capture-to-first-output latency live audio is delayed
    by; `release_after_ms`, when set, holds each frame until that long after its capture (live
    audio sets it when the microphone cannot reach the virtual microphone as fast).
    `compositor` (default: `make_compositor("auto")`, no effects) may have its `settings`
    replaced while running; it is closed with the pipeline. `on_picture(processed)` is called
    from the output thread with each new picture (frame, composite, matte), for a viewer.
    `on_error(exc)` is called once, from a worker thread, with the first error of the
    source or of a worker (it must not wait for the pipeline); that error stops the
    pipeline, is kept in `error`, and `wait()` re-raises it after finalising the outputs.
    The segmenter stays with the caller (close it after `wait()`).
    """

    def __init__(self, source: LiveSource, segmenter: Segmenter, refiner: MatteRefiner,
                 background: Background, outputs: list[Output], *,
                 on_stats: Callable[[StatsSnapshot], None] | None = None, stats_interval: float = 1.0,
                 reader_check: Callable[[], int | None] | None = None,
                 pause_without_readers: bool = True, compositor: Compositor | None = None,
                 on_picture: Callable[[Processed], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.source = source
        self.stats = PipelineStats()
        self._runner = StageRunner(segmenter, refiner, background, self.stats, compositor=compositor,
                                   owns_compositor=True)
        self.on_picture, self.on_error = on_picture, on_error
        self.outputs = list(outputs)
        self.on_stats, self.stats_interval = on_stats, stats_interval
        self.reader_check, self.pause_without_readers = reader_check, pause_without_readers
        self.release_after_ms = 0.0  # no frame leaves before capture + this (the audio path's minimum)
        self._max_held = int(MAX_HOLD_S * float(source.frame_rate or 30)) + 2
        self._hold_dropped = 0
        self._dropped_before = source.dropped  # while the camera ran before the stream (auto measuring)
        self.period = 1.0 / float(source.frame_rate or 30)
        self._segmented: LatestSlot[Segmented] = LatestSlot()
        self._processed: LatestSlot[Processed] = LatestSlot()
        self._stop = threading.Event()
        self._workers = [Worker(name, target, on_error=self._fail) for name, target in (
            ("segment", self._segment_loop), ("composite", self._composite_loop), ("output", self._output_loop))]
        self._error: BaseException | None = None
        self._error_lock = threading.Lock()
        self._start_s = time.monotonic()

    # -- the stages and what may change while running ------------------------------
    @property
    def error(self) -> BaseException | None:
        """The first error of the source or a worker thread, or None."""
        return self._error

    # -- threads ---------------------------------------------------------------
    def _segment_loop(self) -> None:
        source, runner = self.source, self._runner
        try:
            while not self._stop.is_set():
                frame = source.get(timeout=0.1)
                if frame is None:
                    if source.ended:
                        if source.error is not None:
                            raise source.error
                        break
                    continue
                self.stats.frame_in()
                self._segmented.put(runner.segment(frame))
        finally:
            self._segmented.close()

    def _composite_loop(self) -> None:
        runner = self._runner
        try:
            while not self._stop.is_set():
                item = self._segmented.get(timeout=0.1)
                if item is None:
                    if self._segmented.closed:
                        break
                    continue
                seconds = time.monotonic() - self._start_s  # backgrounds play at wall-clock speed
                self._processed.put(runner.composite(item, seconds))
        finally:
            self._processed.close()

    def _output_loop(self) -> None:
        held: deque[Processed] = deque()  # pictures waiting for their release (see _due_s)
        last: Processed | None = None
        last_sent = time.monotonic()
        next_stats = time.monotonic() + self.stats_interval
        next_reader_poll = time.monotonic()
        last_reader_seen = time.monotonic()
        while not self._stop.is_set():
            wait = self.period * 1.5 if not held else min(self.period * 1.5, max(0.0, self._due_s(held[0])))
            item = self._processed.get(timeout=wait)
            if item is not None:
                held.append(item)
                if len(held) > self._max_held:  # cannot happen while the hold stays under MAX_HOLD_S
                    held.popleft()
                    self._hold_dropped += 1
            elif self._processed.closed and not held:
                break
            elif self._processed.closed:
                self._stop.wait(max(0.0, self._due_s(held[0])))
            while held and self._due_s(held[0]) <= 0:
                last = held.popleft()
                self._write(last, keepalive_only=False)
                if self.on_picture is not None:
                    self.on_picture(last)
                self.stats.frame_out((now_ns() - last.frame.capture_ns) / 1e9)
                last_sent = time.monotonic()
            now = time.monotonic()
            if last is not None and not held and now - last_sent >= self.period * 1.5:
                self._write(last, keepalive_only=True)  # nothing new for 1.5 periods: repeat
                self.stats.repeat()
                last_sent = now
            if self.reader_check is not None and now >= next_reader_poll:
                next_reader_poll = now + READER_POLL_S
                last_reader_seen = self._follow_readers(now, last_reader_seen)
            if now >= next_stats:
                next_stats = now + self.stats_interval
                self.stats.set_dropped(self.dropped)
                self.stats.outputs = "; ".join(o.state for o in self.outputs if isinstance(o, ReportsState))
                if self.on_stats is not None:
                    self.on_stats(self.stats.snapshot())

    def _due_s(self, item: Processed) -> float:
        """Seconds until `item` may leave: `release_after_ms` (at most MAX_HOLD_S) after its
        capture. When the microphone cannot reach the virtual microphone as fast as the
        picture is made, the pictures wait for it, in order, each for its own time: the
        pictures made meanwhile queue behind it rather than replace it."""
        hold_ns = int(min(max(self.release_after_ms, 0.0), MAX_HOLD_S * 1000.0) * 1e6)
        return (item.frame.capture_ns + hold_ns - now_ns()) / 1e9

    def _write(self, item: Processed, keepalive_only: bool) -> None:
        t0 = time.perf_counter()
        first = not keepalive_only
        for output in list(self.outputs):
            if keepalive_only and not getattr(output, "keeps_alive", False):
                continue
            try:
                output.write(item.frame, item.image)
            except Exception as exc:  # one broken output must not stop the others
                self.outputs.remove(output)
                log.error("%s", failure_line(output, exc, self.outputs))
                output.abort()
            if first:  # audio is synced to the first output (the virtual camera, when there is one)
                self.stats.first_output((now_ns() - item.frame.capture_ns) / 1e9)
                first = False
        if first:  # no output (a panel showing the preview only): the picture is out now
            self.stats.first_output((now_ns() - item.frame.capture_ns) / 1e9)
        if not keepalive_only:
            self.stats.stage("write", time.perf_counter() - t0)

    def _follow_readers(self, now: float, last_seen: float) -> float:
        readers = self.reader_check() if self.reader_check else None
        if readers is None or readers > 0:
            if self.source.paused:
                log.info("a reader opened the virtual camera: resuming the camera")
                self.source.resume()
            return now
        if self.pause_without_readers and not self.source.paused and now - last_seen >= IDLE_GRACE_S:
            log.info("nobody reads the virtual camera: releasing the camera until someone does")
            self.source.pause()
        return last_seen

    # -- control ---------------------------------------------------------------
    def video_latency_ms(self) -> float | None:
        """The smoothed capture-to-first-output latency that live audio is delayed by."""
        return self.stats.sync_latency_ms()

    @property
    def dropped(self) -> int:
        """Frames dropped anywhere along the path (stale camera frames, stale mattes)."""
        return (self.source.dropped - self._dropped_before + self._segmented.dropped + self._processed.dropped
                + self._hold_dropped)

    def _fail(self, exc: BaseException) -> None:
        """Keep the first error, stop every thread, and tell `on_error` (once)."""
        with self._error_lock:
            if self._error is not None:
                return
            self._error = exc
        self._stop.set()
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:  # a broken listener must not hide the error itself
                log.exception("on_error failed")

    def start(self) -> None:
        """Start capturing and the three worker threads."""
        cv2.setNumThreads(1)  # the stages run in parallel threads; OpenCV's pool would compete
        keep_freed_buffers()  # frame-sized buffers reused, not page-faulted in each frame
        self.source.start()
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        """Ask every thread to stop; `wait()` then finalises the outputs."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the threads end (source ended, stop() or an error), then close the
        source, background, compositor and outputs. Returns False if still running after
        `timeout`. Re-raises the first error of the source or a worker thread."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            while not worker.join(0.2):
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        for worker in self._workers:
            worker.end(CLOSE_TIMEOUT_S)
        self.source.close()
        self._runner.close()
        for output in self.outputs:
            try:
                output.close()
            except Exception as exc:
                log.error("output %s could not be finalised: %s", type(output).__name__, exc)
        self.outputs.clear()
        self.stats.set_dropped(self.dropped)
        if self._error is not None:
            raise self._error
        return True
