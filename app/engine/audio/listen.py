"""The player listens to itself: `OutputListener` records the PulseAudio sink it plays into
and finds its own samples there, to know when they really played. Design notes: docs/audio.md.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Protocol

import numpy as np

from app.engine.audio.capture import AudioCapture
from app.engine.audio.clock import NS, AudioBlock
from app.engine.audio.endpoints import Endpoint
from app.engine.audio.worker import Worker
from app.engine.core.frame import now_ns

log = logging.getLogger("backdrop.audio")

EVERY_S = 0.25      # how often to measure
WINDOW_S = 0.4      # how much of the monitor to match
SEARCH_S = 0.04     # how far off the player's clock may be
SETTLE_S = 0.05     # leave the newest monitor samples alone (their block may still grow)
MIN_RMS = 0.002     # quieter than this, there is nothing to match
MIN_MATCH = 0.9     # normalised correlation a match needs
AMBIGUOUS = 0.995   # a second correlation peak this close to the best one makes a match ambiguous: a
                    # steady tone's are all equal (1.0); a 120 ms beep's next one is 1 - period / 120 ms
GAIN = 0.8          # share of a measured error corrected at once
KEEP_S = 3.0
CONFIRM_NS = 3e6    # an error larger than this is acted on only when the next measurement agrees
TRUST_AFTER_S = 3.0  # the monitor's capture clock wanders this long after it starts


def find_lag(x: np.ndarray, y: np.ndarray) -> float | None:
    """Where `x` best matches inside the longer `y` (fractional index of its first sample), or
    None when no lag matches well (normalised correlation under MIN_MATCH, or at the search's
    edge) or more than one does: a steady tone or hum matches its own copy a period off as
    well, so its position says nothing about the clock."""
    m = len(y) - len(x) + 1
    size = 1 << int(np.ceil(np.log2(len(y) + len(x))))
    corr = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)[:m]
    d = int(np.argmax(corr))
    seg = y[d:d + len(x)]
    norm = float(np.sqrt(np.dot(x, x) * np.dot(seg, seg)))
    if norm <= 0 or corr[d] / norm < MIN_MATCH or d in (0, m - 1):
        return None
    inner = corr[1:-1]
    peaks = np.flatnonzero((inner > corr[:-2]) & (inner >= corr[2:])) + 1
    rivals = corr[peaks[peaks != d]]
    if rivals.size and float(rivals.max()) > AMBIGUOUS * float(corr[d]):
        return None
    y0, y1, y2 = corr[d - 1], corr[d], corr[d + 1]
    den = y0 - 2 * y1 + y2
    return d + (0.5 * (y0 - y2) / den if den else 0.0)


class ListenedPlayer(Protocol):
    """What the listener needs of the player it listens to."""

    rate: int

    def history_around(self, t_ns: int, n: int, margin: int) -> tuple[np.ndarray, int, float, int] | None: ...

    def correct_clock(self, error_ns: float, generation: int) -> bool: ...


class OutputListener:
    """Corrects `player`'s clock by matching what it wrote against `monitor`."""

    def __init__(self, player: ListenedPlayer, monitor: Endpoint) -> None:
        self.player = player
        self.capture = AudioCapture(monitor, rate=player.rate, block=480)
        self.capture.subscribe(self)
        self._blocks: deque[AudioBlock] = deque()
        self._lock = threading.Lock()
        self._worker = Worker("backdrop-audio-listen", self._run)
        self._stop = self._worker.stop
        self.matches = 0
        self.last_error_ms: float | None = None
        self.moves: deque[tuple[int, float]] = deque(maxlen=64)  # (when, error ns): the latest corrections
                                                                  # larger than CONFIRM_NS
        self._previous: float | None = None

    def push(self, block: AudioBlock) -> None:
        with self._lock:
            self._blocks.append(block)
            while self._blocks and self._blocks[0].capture_ns < block.end_ns - KEEP_S * NS:
                self._blocks.popleft()

    def start(self) -> None:
        self.capture.start()
        self._worker.start()

    def close(self) -> None:
        self._worker.end(timeout=2.0)
        self.capture.close()

    def _run(self) -> None:
        while not self._stop.wait(EVERY_S):
            try:
                self.measure()
            except Exception as exc:  # a measurement must never take the audio down
                log.debug("audio: listening to the output failed: %s", exc)

    def _monitor(self, rate: int) -> tuple[np.ndarray, int] | None:
        """The last WINDOW_S of the monitor (up to SETTLE_S ago), placed by capture time, and the
        time of its first sample; None while it is not all real sound."""
        with self._lock:
            blocks = list(self._blocks)
        if not blocks:
            return None
        end = blocks[-1].end_ns - int(SETTLE_S * NS)
        start = end - int(WINDOW_S * NS)
        n = int(WINDOW_S * rate)
        x = np.zeros(n, np.float32)
        covered = 0
        for b in blocks:
            if b.end_ns <= start or b.capture_ns >= end:
                continue
            if b.filler:
                return None
            k = int(round((b.capture_ns - start) * rate / NS))
            lo, hi = max(k, 0), min(k + len(b.samples), n)
            if hi > lo:
                x[lo:hi] = b.samples[lo - k:hi - k]
                covered += hi - lo
        return (x, start) if covered >= n - 2 else None

    def measure(self) -> float | None:
        """One measurement; returns the error found (ms, positive: plays later than thought)."""
        rate = self.player.rate
        since = self.capture.delivering_since
        if since is None or now_ns() - since < TRUST_AFTER_S * NS:  # its own clock settles first
            return None
        got = self._monitor(rate)
        if got is None:
            return None
        x, t0 = got
        if float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) < MIN_RMS:
            return None
        found = self.player.history_around(t0, len(x), int(SEARCH_S * rate))
        if found is None:
            return None
        y, i_start, i0, generation = found
        lag = find_lag(x, y)
        if lag is None:
            return None
        actual = i_start + lag               # the output index that was at the monitor at t0
        error_ns = (i0 - actual) * NS / rate  # > 0: the samples play later than the clock says
        previous, self._previous = self._previous, error_ns
        if abs(error_ns) > CONFIRM_NS and (previous is None or abs(previous - error_ns) > CONFIRM_NS):
            return error_ns / 1e6  # a large error must be seen twice before the clock moves
        if self.player.correct_clock(error_ns * GAIN, generation):
            self.matches += 1
            if abs(error_ns) > CONFIRM_NS:
                self.moves.append((now_ns(), error_ns))
            self.last_error_ms = error_ns / 1e6
            self._previous = None if abs(error_ns) > CONFIRM_NS else error_ns * (1 - GAIN)
        return error_ns / 1e6
