"""Audio held back by a delay that can change while it plays, without clicks: `DelayLine`
reaches a new delay by resampling slightly, and stays on the capture clock.
Design notes: docs/audio.md.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque

import numpy as np

from app.engine.audio.clock import NS, AudioBlock
from app.engine.core.frame import now_ns

SYNC_TOLERANCE_S = 0.025  # an error larger than this is fixed at once by a jump (with a crossfade), not by
                          # slewing (5 ms a second under sound): the delay played stays within this of the
                          # delay asked for, so audio never trails the video it follows by more
QUIET_JUMP_S = 0.005  # ... and inside a quiet stretch, one larger than this
CROSSFADE = 0.005     # seconds
TRACK_TAU_S = 0.15    # time constant with which timing errors are corrected
FINE_TAU_S = 2.0      # ... and errors under FINE_ERROR_S (the clock's own sub-ms re-fits), slowly:
FINE_ERROR_S = 0.001  # 0.5 ms corrected in 0.15 s would be a 0.3 % (3 Hz at 1 kHz) pitch wobble
COARSE_ERROR_S = 0.003  # from here on TRACK_TAU_S; between the two, a blend
MIN_LEAD_S = 0.002    # margin between the newest sample and the latest one read
NEED_WINDOW_S = 5.0   # the soonest the line can play: the most the reads needed over this long
WARMUP_S = 1.5        # ... not counting the first reads,
BEHIND_S = 0.015      # ... nor reads made while the input is this much later than usual (it stalls,
LAG_WINDOW_S = 2.0    # ... or catches up after a stall); usual: its least lateness over this long


def _tracking_tau(error_s: float) -> float:
    """Time constant for correcting a timing error of `error_s`: slow for the clock's small
    re-fits (no pitch wobble), quick for real changes."""
    if error_s <= FINE_ERROR_S:
        return FINE_TAU_S
    if error_s >= COARSE_ERROR_S:
        return TRACK_TAU_S
    share = (error_s - FINE_ERROR_S) / (COARSE_ERROR_S - FINE_ERROR_S)
    return 1.0 / (1.0 / FINE_TAU_S + share * (1.0 / TRACK_TAU_S - 1.0 / FINE_TAU_S))


class DelayLine:
    """A time-indexed audio buffer read with a (changing) delay.

    `push` and `read` may be called from different threads. `read(n, start_ns, rate)` returns
    n mono float32 samples for output times start_ns + k/rate, carrying the input captured
    `delay` earlier. When the wanted input is not captured yet (the delay is shorter than the
    audio path itself), the line plays as early as it can instead, and `current_delay_ms`
    says so.
    """

    def __init__(self, rate: int, *, delay_ms: float = 0.0, max_delay_s: float = 3.0,
                 slew: float = 0.005, quiet_slew: float = 0.05, quiet_level: float = 0.01) -> None:
        self.rate = int(rate)
        self.slew, self.quiet_slew, self.quiet_level = slew, quiet_slew, quiet_level
        self.max_delay_s = max_delay_s
        self._cap = int((max_delay_s + 2.0) * rate)
        self._buf = np.zeros(self._cap, np.float32)
        self._written = 0                    # global index of the next sample to write
        self._anchors_i: deque[int] = deque()   # global index of each block's first sample
        self._anchors_t: deque[int] = deque()   # its capture ns
        self._lock = threading.Lock()
        self._target_ns = 0
        self.set_delay(delay_ms)
        self._pos: float | None = None       # read position (global input index) for the next read
        self._current_ns: float | None = None
        self._first_read_ns: int | None = None
        self._floor_ns: float | None = None
        self._filling = False
        self._lags: deque[tuple[int, int]] = deque()  # (push time, lateness of the newest sample): rising
        self._block_ns = 0                   # the newest block's length
        self._needs: deque[tuple[int, float]] = deque()  # (read time, how old the newest sample was then
                                                         #  relative to the end of the read block)
        self.resyncs = 0
        self.underflows = 0

    # -- settings ---------------------------------------------------------------------------
    def set_delay(self, ms: float) -> None:
        """The delay to reach: gradually within SYNC_TOLERANCE_S, at once (crossfaded) beyond;
        clamped to 0..max_delay_s."""
        self._target_ns = int(min(max(ms, 0.0), self.max_delay_s * 1000.0) * 1e6)

    @property
    def delay_ms(self) -> float:
        """The delay asked for."""
        return self._target_ns / 1e6

    @property
    def soonest_ms(self) -> float | None:
        """The shortest delay the line can play with now (the audio path itself: capture,
        hand-over, output buffer); None before the first timed read."""
        return None if self._floor_ns is None else self._floor_ns / 1e6

    @property
    def current_delay_ms(self) -> float | None:
        """The delay the last read actually had (None before the first read with data)."""
        return None if self._current_ns is None else self._current_ns / 1e6

    # -- input ------------------------------------------------------------------------------
    def push(self, block: AudioBlock, now: int | None = None) -> None:
        """Append a block; blocks must follow each other in time (gaps filled by the caller).
        `now`: the time of the call (default `now_ns()`)."""
        if block.rate != self.rate:
            raise ValueError(f"block rate {block.rate} Hz, delay line runs at {self.rate} Hz")
        x = block.samples
        if len(x) == 0:
            return
        if len(x) > self._cap:
            x = x[-self._cap:]
        with self._lock:
            start = self._written % self._cap
            first = min(len(x), self._cap - start)
            self._buf[start:start + first] = x[:first]
            if first < len(x):
                self._buf[:len(x) - first] = x[first:]
            self._anchors_i.append(self._written)
            self._anchors_t.append(block.capture_ns)
            self._filling = block.filler
            self._block_ns = len(x) * NS // self.rate
            if not block.filler:
                self._note_lag(now_ns() if now is None else now, block.end_ns)
            self._written += len(x)
            oldest = self._written - self._cap
            while len(self._anchors_i) > 1 and self._anchors_i[1] <= oldest:
                self._anchors_i.popleft()
                self._anchors_t.popleft()

    def available_ns(self) -> int | None:
        """Capture time just after the newest sample (None while empty)."""
        with self._lock:
            return self._time_of(self._written) if self._anchors_i else None

    def _note_lag(self, now: int, end_ns: int) -> None:
        """Keep the sliding minimum of how late blocks arrive after their last sample."""
        lag = now - end_ns
        lags = self._lags
        while lags and lags[-1][1] >= lag:
            lags.pop()
        lags.append((now, lag))
        while lags[0][0] < now - LAG_WINDOW_S * NS:
            lags.popleft()

    def _input_on_time(self, now: int) -> bool:
        """True when the newest sample is no later than usual (by a block and BEHIND_S): the
        input neither stalls nor catches up on a burst of held-up blocks."""
        if self._filling:
            return False
        if not self._lags:
            return True
        return now - self._time_of(self._written) - self._lags[0][1] < BEHIND_S * NS + self._block_ns

    # -- time map (call with the lock held) ---------------------------------------------------
    def _pos_of(self, t_ns: float) -> float:
        j = bisect.bisect_right(self._anchors_t, t_ns) - 1
        j = max(j, 0)
        return self._anchors_i[j] + (t_ns - self._anchors_t[j]) * self.rate / NS

    def _time_of(self, pos: float) -> float:
        j = bisect.bisect_right(self._anchors_i, pos) - 1
        j = max(j, 0)
        return self._anchors_t[j] + (pos - self._anchors_i[j]) * NS / self.rate

    def _samples_at(self, positions: np.ndarray) -> np.ndarray:
        """Cubic (Catmull-Rom) interpolation; positions outside the stored data give 0."""
        base = np.floor(positions).astype(np.int64)
        frac = (positions - base).astype(np.float32)
        valid = (base - 1 >= self._written - self._cap) & (base + 2 < self._written)
        idx = np.clip(base, self._written - self._cap + 1, max(self._written - 3, self._written - self._cap + 1))
        p0 = self._buf[(idx - 1) % self._cap]
        p1 = self._buf[idx % self._cap]
        p2 = self._buf[(idx + 1) % self._cap]
        p3 = self._buf[(idx + 2) % self._cap]
        out = p1 + 0.5 * frac * (p2 - p0 + frac * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3
                                                    + frac * (3.0 * (p1 - p2) + p3 - p0)))
        out[~valid] = 0.0
        return out.astype(np.float32, copy=False)

    def _quiet(self, a: float, b: float) -> bool:
        margin = int(0.01 * self.rate)
        lo, hi = int(a) - margin, int(b) + margin
        lo = max(lo, self._written - self._cap)
        hi = min(hi, self._written)
        if hi <= lo:
            return True
        i = np.arange(lo, hi) % self._cap
        return float(np.max(np.abs(self._buf[i]))) < self.quiet_level

    # -- output -------------------------------------------------------------------------------
    def read(self, n: int, start_ns: int, rate: int, now: int | None = None) -> np.ndarray:
        """n samples for output times start_ns + k/rate (see the class doc). `now`, the time of
        the call, lets the line keep the soonest it can play clear of data not yet written."""
        with self._lock:
            if not self._anchors_i:
                return np.zeros(n, np.float32)
            step_nominal = n * self.rate / rate
            dur_ns = n * NS / rate
            target = float(self._target_ns)
            if now is not None:  # the soonest: what the recent reads needed, plus a margin
                if self._first_read_ns is None:
                    self._first_read_ns = now
                if now - self._first_read_ns < WARMUP_S * NS:  # devices report nonsense at first
                    self._needs.clear()
                if self._input_on_time(now):
                    self._needs.append((now, start_ns + dur_ns - self._time_of(self._written)))
                while self._needs and self._needs[0][0] < now - NEED_WINDOW_S * NS:
                    self._needs.popleft()
                floor = max((v for _, v in self._needs), default=0.0) + MIN_LEAD_S * NS
                self._floor_ns = floor
                target = max(target, floor)
            want = self._pos_of(start_ns - target)
            want_end = self._pos_of(start_ns + dur_ns - target)
            natural = want_end - want if want_end > want else step_nominal
            crossfade_from: float | None = None
            quiet = self._pos is not None and self._quiet(min(self._pos, want), max(self._pos, want) + natural)
            warming = now is not None and now - self._first_read_ns < WARMUP_S * NS  # jumps do no harm yet
            jump_s = QUIET_JUMP_S if quiet or warming else SYNC_TOLERANCE_S
            if self._pos is None or abs(want - self._pos) > jump_s * self.rate:
                if self._pos is not None:
                    crossfade_from = self._pos
                    self.resyncs += 1
                self._pos = want
            err = want - self._pos
            corr = err * min(1.0, n / (_tracking_tau(abs(err) / self.rate) * rate))
            limit = natural * (self.quiet_slew if quiet else self.slew)
            step = natural + float(np.clip(corr, -limit, limit))
            positions = self._pos + step * (np.arange(n) / n)
            out = self._samples_at(positions)
            if crossfade_from is not None:
                old = self._samples_at(crossfade_from + step_nominal * (np.arange(n) / n))
                m = min(n, int(CROSSFADE * rate))
                ramp = np.linspace(0.0, 1.0, m, endpoint=False, dtype=np.float32)
                out[:m] = old[:m] * (1.0 - ramp) + out[:m] * ramp
            if positions[-1] + 2 >= self._written:
                self.underflows += 1
            self._pos += step
            self._current_ns = start_ns + dur_ns - self._time_of(self._pos)
            return out
