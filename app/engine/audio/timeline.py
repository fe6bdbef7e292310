"""An unbroken timeline of mono audio blocks on the frames' clock, handed to subscribers:
what a microphone capture and a video file's own sound have in common."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from app.engine.audio.clock import NS, AudioBlock
from app.engine.audio.delay_line import DelayLine

SLIP_NS = 2_000_000    # a block stamped off the timeline by less than this is eased onto it:
SLEW = 0.005           # ... its stamp moves towards the clock's by at most this share of its length


class BlockConsumer(Protocol):
    def push(self, block: AudioBlock) -> None: ...


class BlockTimeline:
    """Blocks of `rate` Hz put on one timeline: a gap is filled with silence (in pieces of
    `block` samples, marked `filler`), an overlap dropped, a slip of a ms or so eased in.
    `silence_s` and `dropped_s` count the seconds inserted and dropped."""

    def __init__(self, rate: int, block: int) -> None:
        self.rate, self.block = int(rate), int(block)
        self.silence_s = 0.0
        self.dropped_s = 0.0
        self._lines: list[BlockConsumer] = []
        self._lines_lock = threading.Lock()
        self._end_ns: int | None = None  # the timeline so far ends here

    # -- subscribers ----------------------------------------------------------------------
    def tap(self, **delay_line_options) -> DelayLine:
        """A new DelayLine fed with every block from now on (delay 0 unless set)."""
        return self.subscribe(DelayLine(self.rate, **delay_line_options))

    def subscribe(self, consumer: BlockConsumer) -> BlockConsumer:
        """Hand every block from now on to `consumer.push(block)` (called from the device's
        callback or a worker thread: it must be quick and must not block)."""
        with self._lines_lock:
            self._lines.append(consumer)
        return consumer

    def untap(self, consumer: BlockConsumer) -> None:
        with self._lines_lock:
            if consumer in self._lines:
                self._lines.remove(consumer)

    # -- the timeline (callers serialise these) ------------------------------------------------
    def _emit_stamped(self, x: np.ndarray, stamp: int) -> None:
        """Put a block on the timeline at `stamp`. Small differences (a clock's re-fit) are
        eased in: the samples stay contiguous, where silence or a cut would click. Only a
        real jump leaves a gap, filled with silence, or an overlap, dropped."""
        if self._end_ns is not None:
            gap = stamp - self._end_ns
            if gap > SLIP_NS:
                self._fill_silence(stamp)
            elif gap < -SLIP_NS:
                skip = int(round(-gap * self.rate / NS))
                self.dropped_s += min(skip, len(x)) / self.rate
                if skip >= len(x):
                    return
                x, stamp = x[skip:], stamp + skip * NS // self.rate
            else:
                limit = SLEW * len(x) * NS / self.rate
                stamp = self._end_ns + int(np.clip(gap, -limit, limit))
        self._emit(AudioBlock(np.ascontiguousarray(x, np.float32), self.rate, stamp))

    def _fill_silence(self, until_ns: int) -> None:
        """Extend the timeline with silence up to `until_ns` (the first call only sets its start)."""
        if self._end_ns is None:
            self._end_ns = until_ns
            return
        n = int((until_ns - self._end_ns) * self.rate // NS)
        while n > 0:
            k = min(n, self.block)
            self.silence_s += k / self.rate
            self._emit(AudioBlock(np.zeros(k, np.float32), self.rate, self._end_ns, filler=True))
            n -= k

    def _emit(self, block: AudioBlock) -> None:
        self._end_ns = block.end_ns
        with self._lines_lock:
            lines = list(self._lines)
        for line in lines:
            line.push(block)
