"""Pipeline statistics: per-stage time, fps, drops and latency, safe to read from any thread."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

STAGES = ("decode", "segment", "matte", "composite", "write")
WINDOW = 120  # samples kept per figure


@dataclass(frozen=True)
class StatsSnapshot:
    """Figures at one moment. Stage times are means over the recent window, in ms."""

    frames_in: int
    frames_out: int
    dropped: int
    fps_out: float
    stage_ms: dict[str, float]
    latency_ms_p50: float
    latency_ms_p95: float
    elapsed_s: float

    def line(self) -> str:
        """One human-readable line of the main figures."""
        stages = " ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items() if v > 0)
        return (f"{self.fps_out:5.1f} fps | {self.frames_out} frames, {self.dropped} dropped | "
                f"latency p50 {self.latency_ms_p50:.0f} ms p95 {self.latency_ms_p95:.0f} ms | ms: {stages}")


@dataclass
class PipelineStats:
    """Collects figures from the pipeline's threads."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stage: dict[str, deque] = field(default_factory=lambda: {s: deque(maxlen=WINDOW) for s in STAGES})
    _latency: deque = field(default_factory=lambda: deque(maxlen=WINDOW * 5))
    _out_times: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    started: float = field(default_factory=time.monotonic)

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self._stage[name].append(seconds)

    def frame_in(self) -> None:
        with self._lock:
            self.frames_in += 1

    def frame_out(self, latency_s: float) -> None:
        with self._lock:
            self.frames_out += 1
            self._latency.append(latency_s)
            self._out_times.append(time.monotonic())

    def set_dropped(self, count: int) -> None:
        with self._lock:
            self.dropped = count

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            stage_ms = {k: (1000.0 * sum(v) / len(v) if v else 0.0) for k, v in self._stage.items()}
            lat = np.array(self._latency) * 1000.0 if self._latency else np.zeros(1)
            times = list(self._out_times)
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            return StatsSnapshot(self.frames_in, self.frames_out, self.dropped, fps, stage_ms,
                                 float(np.percentile(lat, 50)), float(np.percentile(lat, 95)),
                                 time.monotonic() - self.started)
