"""Pipeline statistics: per-stage time, fps, drops, latency and CPU, safe to read from any
thread. The CLI, the panel and the benchmarks all read the same `StatsSnapshot`."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

STAGES = ("decode", "segment", "matte", "composite", "write")
WINDOW = 120  # samples kept per figure
SYNC_WINDOW = 60  # frames (2 s at 30 fps) over which the latency audio follows is smoothed


@dataclass(frozen=True)
class StatsSnapshot:
    """Figures at one moment. Stage times are means over the recent window, in ms; fps over
    the recent window; latency is capture to output write; CPU is % of one core since the
    previous snapshot (whole process)."""

    frames_in: int
    frames_out: int
    dropped: int
    fps_in: float
    fps_out: float
    stage_ms: dict[str, float]
    latency_ms_p50: float
    latency_ms_p95: float
    elapsed_s: float
    cpu_percent: float = 0.0
    repeats: int = 0
    audio_delay_ms: float | None = None  # the delay the microphone is played with (None: no audio out)
    model: str = ""  # the model and where it runs, e.g. "rvm on cpu"
    outputs: str = ""  # outputs that report a state: "stream connected, 0 dropped"

    def line(self) -> str:
        """One human-readable line of the main figures."""
        stages = " ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items() if v > 0)
        audio = "" if self.audio_delay_ms is None else f" | audio delay {self.audio_delay_ms:3.0f} ms"
        return (f"in {self.fps_in:4.1f} out {self.fps_out:4.1f} fps | latency p50 {self.latency_ms_p50:3.0f} "
                f"p95 {self.latency_ms_p95:3.0f} ms{audio} | dropped {self.dropped} | cpu {self.cpu_percent:3.0f}% | "
                f"ms {stages}" + (f" | {self.model}" if self.model else "")
                + (f" | {self.outputs}" if self.outputs else ""))


def _rate(times: deque) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


@dataclass
class PipelineStats:
    """Collects figures from the pipeline's threads."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stage: dict[str, deque] = field(default_factory=lambda: {s: deque(maxlen=WINDOW) for s in STAGES})
    _latency: deque = field(default_factory=lambda: deque(maxlen=WINDOW * 5))
    _in_times: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    _out_times: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    frames_in: int = 0
    frames_out: int = 0
    model: str = ""  # set by the stage runner: the model and its execution provider
    outputs: str = ""  # set by the live pipeline: the states outputs report (ReportsState)
    dropped: int = 0
    repeats: int = 0
    audio_delay_ms: float | None = None
    _first_out: deque = field(default_factory=lambda: deque(maxlen=SYNC_WINDOW))
    started: float = field(default_factory=time.monotonic)
    _cpu_mark: tuple[float, float] = field(default_factory=lambda: (time.monotonic(), time.process_time()))

    def stage(self, name: str, seconds: float) -> None:
        with self._lock:
            self._stage[name].append(seconds)

    def frame_in(self) -> None:
        with self._lock:
            self.frames_in += 1
            self._in_times.append(time.monotonic())

    def frame_out(self, latency_s: float) -> None:
        with self._lock:
            self.frames_out += 1
            self._latency.append(latency_s)
            self._out_times.append(time.monotonic())

    def first_output(self, latency_s: float) -> None:
        """Capture to the moment the first output (the one audio is synced to) had the frame."""
        with self._lock:
            self._first_out.append(latency_s)

    def sync_latency_ms(self) -> float | None:
        """The video latency audio should be delayed by: the median of the recent
        capture-to-first-output latencies (None before any frame)."""
        with self._lock:
            if not self._first_out:
                return None
            return float(np.median(np.array(self._first_out))) * 1000.0

    def set_audio_delay(self, ms: float | None) -> None:
        with self._lock:
            self.audio_delay_ms = ms

    def repeat(self) -> None:
        """The output re-sent its last picture (no new one was due in time)."""
        with self._lock:
            self.repeats += 1

    def set_dropped(self, count: int) -> None:
        with self._lock:
            self.dropped = count

    def latencies_ms(self) -> np.ndarray:
        """The recent capture-to-output latencies in ms."""
        with self._lock:
            return np.array(self._latency, dtype=np.float64) * 1000.0

    def snapshot(self) -> StatsSnapshot:
        now, cpu = time.monotonic(), time.process_time()
        with self._lock:
            wall0, cpu0 = self._cpu_mark
            self._cpu_mark = (now, cpu)
            cpu_percent = 100.0 * (cpu - cpu0) / (now - wall0) if now > wall0 else 0.0
            stage_ms = {k: (1000.0 * sum(v) / len(v) if v else 0.0) for k, v in self._stage.items()}
            lat = np.array(self._latency) * 1000.0 if self._latency else np.zeros(1)
            return StatsSnapshot(self.frames_in, self.frames_out, self.dropped, _rate(self._in_times),
                                 _rate(self._out_times), stage_ms, float(np.percentile(lat, 50)),
                                 float(np.percentile(lat, 95)), now - self.started, cpu_percent, self.repeats,
                                 self.audio_delay_ms, self.model, self.outputs)
