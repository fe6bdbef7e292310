"""Audio blocks and the clock that stamps them: `SampleClock` maps a device's sample counts
onto `now_ns()`, steadily, re-basing when the device really jumps. Design notes:
docs/audio.md.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

NS = 1_000_000_000
REPORT_EVERY = 5  # keep every 5th timing report for the offset (enough, and cheap inside a callback)
JUMP_SAMPLES = 6              # callbacks after a jump whose earliest arrival sets the new edge,
JUMP_WINDOW_NS = 100_000_000  # ... arriving over at least this long: past the burst that follows a stall
MOVE_JUDGE_REPORTS = 40       # reports (kept ones) that decide what a move of the edge was
MOVE_TOLERANCE_NS = 1_500_000  # ... a move of the reports larger than this means the delivery moved
# The edge's slope (the device's rate against the nominal one) fitted over a few seconds is
# off by hundreds of ppm (audible as pitch through the delay line: 0.3 % = 3 Hz at 1 kHz),
# while real devices are within ~100 ppm; the fit is shrunk towards the nominal rate by
# span^2 / (span^2 + SLOPE_PRIOR_S^2). The line is re-anchored at every bucket, so a rate
# still off meanwhile costs a sub-ms sawtooth, not drift.
SLOPE_PRIOR_S = 5.0


@dataclass(frozen=True)
class AudioBlock:
    """Mono float32 samples and the `now_ns()` time of the first one; `filler` marks the
    silence put where the device delivered nothing."""

    samples: np.ndarray
    rate: int
    capture_ns: int
    filler: bool = False

    def __post_init__(self) -> None:
        s = self.samples
        if not isinstance(s, np.ndarray) or s.dtype != np.float32 or s.ndim != 1:
            raise TypeError(f"unexpected audio block: {getattr(s, 'dtype', type(s))} "
                            f"{getattr(s, 'shape', '')} (want 1-D float32)")

    @property
    def end_ns(self) -> int:
        """The time just after the last sample."""
        return self.capture_ns + len(self.samples) * NS // self.rate


class SampleClock:
    """Smoothed times of sample indices. Call `observe(index, report_ns, arrival_ns)` once a
    callback, `report_ns` being the device's report for sample `index` (None when it gave
    none or an implausible one) and `arrival_ns` when the callback ran (`now_ns()`);
    `discontinuity=True` when the device said samples were lost (over/underflow).
    `time_of(index)` is then the smoothed time; `offset_ns` is used as report - arrival
    until the first report comes. `observe` returns True when the line was re-based.
    `correct(ns)` applies a direct measurement of when samples really played (the player
    listening to its own output); from then on the reports no longer move the line.
    """

    def __init__(self, rate: float, offset_ns: float = 0.0, bucket_s: float = 0.5, edge_window_s: float = 10.0,
                 offset_window_s: float = 60.0, settle_s: float = 1.5, shift_ms: float = 3.0, jump_ms: float = 50.0,
                 max_ppm: float = 2000.0) -> None:
        self.rate = float(rate)
        self.period = NS / self.rate
        self.fallback_offset = float(offset_ns)
        self.bucket = max(1, int(bucket_s * self.rate))
        self.edge_window, self.offset_window = int(edge_window_s * self.rate), int(offset_window_s * self.rate)
        self.shift_ns, self.jump_ns, self.max_ppm = shift_ms * 1e6, jump_ms * 1e6, max_ppm
        self.settle_s = settle_s
        self.rebases = 0
        self.correction = 0.0
        self._frozen = False
        self.shifts = 0  # times the callbacks' edge moved without a reported loss
        self.stalls = 0  # times the callbacks were held up and came back onto the edge
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._edges: deque[tuple[int, float]] = deque()   # (index, arrival - index*period) minima per bucket
        self._bucket_start: int | None = None
        self._bucket_min: tuple[int, float] | None = None
        self._res: deque[tuple[int, float]] = deque()     # (index, report - edge) once settled
        self._early: deque[float] = deque(maxlen=500)      # the same, just after a (re)start
        self._since: list[float] | None = None             # residuals since the edge last moved
        self._before: float | None = None                  # ... and the offset before it moved
        self._count = 0
        self._settled_from = 0
        self._line: tuple[float, float, float] | None = None  # (ref index, edge at ref, slope ns/sample)
        self._offset: float = self.fallback_offset
        self._strays = 0
        self._shifted = 0
        self._pending: list[tuple[int, float]] | None = None  # (index, arrival - index*period) since a jump
        self._pending_lost = False

    @property
    def ready(self) -> bool:
        return self._line is not None

    @property
    def holding(self) -> bool:
        """True while a possible jump waits to be confirmed (stamps may be off meanwhile)."""
        return self._strays > 0 or self._pending is not None

    def _edge(self, index: float) -> float:
        ref, value, slope = self._line
        return value + (index - ref) * (slope - self.period)

    def time_of(self, index: int) -> int:
        """Smoothed ns of sample `index` (ValueError before the first observation)."""
        if self._line is None:
            raise ValueError("no timing observation yet")
        return int(round(index * self.period + self._edge(index) + self._offset + self.correction))

    def index_at(self, t_ns: float) -> float:
        """The (fractional) sample index the line puts at `t_ns`."""
        ref, value, slope = self._line
        return ref + (t_ns - self.time_of(int(ref))) / slope

    def correct(self, ns: float) -> None:
        """Move the line by `ns` (later), from a direct measurement of when samples played;
        kept across jumps, like the reports' offset."""
        self.correction += ns
        self._frozen = True  # the measurements know better than the reports from now on

    def observe(self, index: int, report_ns: float | None, arrival_ns: float, discontinuity: bool = False) -> bool:
        a = arrival_ns - index * self.period
        rebased = False
        if self._pending is not None:  # after a jump: the earliest of the next callbacks sets the edge
            self._pending.append((index, a))
            first_index, first_a = self._pending[0]
            since_ns = arrival_ns - (first_a + first_index * self.period)  # since the first of them came
            if len(self._pending) >= JUMP_SAMPLES and since_ns >= JUMP_WINDOW_NS:
                rebased = self._settle_jump()
        elif self._line is not None and (discontinuity or abs(a - self._edge(index)) > self.jump_ns):
            self._strays += 1
            if discontinuity or self._strays >= 3:  # a jump, or callbacks held up for a while
                self._pending = [(index, a)]
                self._pending_lost = discontinuity
                self._strays = 0
        else:
            self._strays = 0
        if self._line is None:
            self._rebase(index, a)
        if self._bucket_start is None or index - self._bucket_start >= self.bucket:
            self._close_bucket()
            self._bucket_start = index
        if self._bucket_min is None or a < self._bucket_min[1]:
            self._bucket_min = (index, a)
        self._count += 1
        if report_ns is not None and (len(self._res) < 50 or self._count % REPORT_EVERY == 0):
            r = float(report_ns) - index * self.period - self._edge(index)
            if index < self._settled_from:  # reports just after a (re)start wander most
                self._early.append(r)
            else:
                self._res.append((index, r))
                while self._res and index - self._res[0][0] > self.offset_window:
                    self._res.popleft()
            if self._since is not None:
                self._judge_move(r)
            if len(self._res) < 50:  # later, refitted with each bucket
                self._fit_offset()
        return rebased

    def _settle_jump(self) -> bool:
        """Re-base on the earliest of the callbacks since the jump, unless those came back onto
        the old edge: a stall (the machine busy, the callbacks held up and then delivered in a
        burst) delays callbacks without moving the samples, and the callbacks after the burst
        show it. Returns True when it re-based."""
        index, a = min(self._pending, key=lambda p: p[1])
        lost, self._pending = self._pending_lost, None
        if not lost and abs(a - self._edge(index)) <= self.jump_ns / 2:
            self.stalls += 1
            return False
        self._rebase(index, a)
        return True

    def _moved(self) -> None:
        """The edge moved. Either the samples moved (the reports move with it: the offset stays)
        or only their delivery did (the reports stay: the offset changes); the reports of the
        next second decide."""
        self._since, self._before = [], self._offset

    def _judge_move(self, r: float) -> None:
        self._since.append(r)
        if len(self._since) >= MOVE_JUDGE_REPORTS:
            if abs(float(np.median(self._since)) - self._before) > MOVE_TOLERANCE_NS:
                self._res.clear()  # the old residuals belong to another arrangement
                self._early = deque(self._since, maxlen=self._early.maxlen)
            self._since = self._before = None
            self._fit_offset()

    def _rebase(self, index: int, a: float) -> None:
        had = self._line is not None
        self._edges.clear()
        self._bucket_start, self._bucket_min = index, None
        self._line = (float(index), a, self.period)
        self._strays = self._shifted = 0
        if had:
            self.rebases += 1
            self._moved()
        self._settled_from = index + int(self.settle_s * self.rate)

    def _close_bucket(self) -> None:
        if self._bucket_min is None:
            return
        index, a = self._bucket_min
        self._bucket_min = None
        if self._edges and self._line is not None and abs(a - self._edge(index)) > self.shift_ns:
            self._shifted += 1
            if self._shifted >= 2:  # two whole buckets off the edge: it moved (samples lost, or startup)
                self.shifts += 1
                last = self._edges[-1]
                self._edges.clear()
                self._edges.append(last if abs(last[1] - a) <= self.shift_ns else (index, a))
                self._shifted = 0
                self._moved()
        else:
            self._shifted = 0
        self._edges.append((index, a))
        while self._edges and index - self._edges[0][0] > self.edge_window:
            self._edges.popleft()
        self._fit_edge()

    def _fit_edge(self) -> None:
        idx = np.array([e[0] for e in self._edges], np.float64)
        val = np.array([e[1] for e in self._edges], np.float64)
        ref = idx[-1]
        if len(idx) >= 4 and idx[-1] - idx[0] >= 2 * self.bucket:
            slope, value = np.polyfit(idx - ref, val, 1)
            keep = val - (value + slope * (idx - ref)) < 1e6  # buckets whose callbacks were all late
            if 3 <= keep.sum() < len(idx):
                slope, value = np.polyfit(idx[keep] - ref, val[keep], 1)
            span_s = (idx[-1] - idx[0]) / self.rate
            slope *= span_s ** 2 / (span_s ** 2 + SLOPE_PRIOR_S ** 2)  # short spans: trust the nominal rate
            limit = self.period * self.max_ppm * 1e-6
            slope = float(np.clip(slope, -limit, limit))
            self._line = (ref, float(value), self.period + slope)
        else:
            self._line = (ref, float(np.min(val)), self.period)
        self._fit_offset()

    def _fit_offset(self) -> None:
        values = [r for _, r in self._res] if len(self._res) >= 50 else [*self._early, *(r for _, r in self._res)]
        if values and self._since is None and not self._frozen:  # (while a move is judged, the offset stays)
            self._offset = float(np.median(values))
