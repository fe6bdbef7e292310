"""Plays a DelayLine to a sound device (the virtual microphone) on the capture clock; a
device that cannot be opened, or that stops, is reopened every `retry_s`.
See docs/audio.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import numpy as np

from app.engine.audio.clock import SampleClock
from app.engine.audio.delay_line import DelayLine
from app.engine.audio.endpoints import AudioDeviceError, Endpoint, _sounddevice, resolve
from app.engine.audio.listen import OutputListener
from app.engine.audio.pulse import pulse_target
from app.engine.audio.realtime import make_this_thread_realtime
from app.engine.audio.worker import Worker, close_stream, start_stream
from app.engine.core.frame import now_ns

log = logging.getLogger("backdrop.audio")

HISTORY_S = 3            # seconds of written samples kept for the listener
MAX_STEP_NS = 20e6       # the most one listening correction moves the clock
UNDERRUNS_TO_GROW = 2    # this many underruns within UNDERRUN_WINDOW_S make the output buffer larger
UNDERRUN_WINDOW_S = 10.0
AHEAD_SLACK_S = 0.1      # a clock putting a block further ahead than the largest output buffer and this
                         # has lost the device


class AudioPlayer:
    """Plays `line` to `device` (see `endpoints.resolve`) at `rate` Hz, `channels` copies of
    the mono signal. `status` is 'starting', 'playing' or 'missing' (with `reason`)."""

    def __init__(self, line: DelayLine, device: str | int | Endpoint | None = None, *, rate: int = 48000,
                 channels: int = 1, block: int = 240, latency: float = 0.03, max_latency: float = 0.08,
                 retry_s: float = 2.0, listen: bool = True) -> None:
        """`listen`: when the output is a PulseAudio sink, record its monitor to learn exactly
        when the samples play (`listen.OutputListener`)."""
        self.line, self.device, self.rate, self.channels = line, device, int(rate), int(channels)
        self.block, self.latency, self.max_latency, self.retry_s = int(block), latency, max_latency, retry_s
        self.status = "starting"
        self.reason: str | None = None
        self.label = str(device if device is not None else "default output")
        self.opens = 0
        self.underflows = 0
        self.clock_resets = 0  # times the clock was found ahead of the device and started again
        self._stream = None
        self._clock = SampleClock(self.rate, offset_ns=latency * 1e9)
        self._index = 0
        self.listen = listen
        self.listener = None
        self._history = np.zeros(HISTORY_S * self.rate, np.float32)
        self._generation = 0
        self._history_lock = threading.Lock()
        self._worker = Worker("backdrop-audio-out", self._run)
        self._stop = self._worker.stop

    def start(self) -> None:
        """Open the device from a named thread that keeps it open; idempotent."""
        self._worker.start()

    def close(self) -> None:
        """Stop playing and release the device; safe to call twice."""
        if not self._worker.end(timeout=5.0):
            return
        if self.listener is not None:
            self.listener.close()
        self._close_stream()

    def _open(self) -> None:
        sd = _sounddevice()
        endpoint = self.device if isinstance(self.device, Endpoint) else resolve(self.device, "output")
        self.label = endpoint.label
        correction = self._clock.correction  # what listening learned holds for the next stream too
        with self._history_lock:
            self._clock = SampleClock(self.rate, offset_ns=self.latency * 1e9)
            self._clock.correction = correction
            self._index = 0
            self._generation += 1
        holder: dict[str, object] = {}

        def callback(outdata, frames, time_info, status) -> None:
            if not holder.get("rt"):
                holder["rt"] = True
                make_this_thread_realtime()
            now = now_ns()
            lost = bool(status.output_underflow)
            if lost:
                self.underflows += 1
            stream = holder.get("stream")
            dac = time_info.outputBufferDacTime
            stamp = now + (dac - stream.time) * 1e9 if dac and stream is not None else None
            plausible = stamp is not None and \
                0 <= stamp - now <= (self.latency + 0.03) * 1e9 + 3 * frames * 1e9 / self.rate
            try:
                with self._history_lock:
                    self._clock.observe(self._index, stamp if plausible else None, now, lost)
                    start = self._clock.time_of(self._index)
                    if start - now > (self.max_latency + AHEAD_SLACK_S) * 1e9:
                        # a block cannot play later than the output buffer's length: the clock
                        # followed a stall of the stream's start-up (ALSA's pulse plugin holds
                        # callbacks ~1.7 s after starting, then the edge read 1.7 s ahead). (A
                        # clock behind is a stall the jump logic of SampleClock re-bases on.)
                        self._clock.reset()
                        self._clock.observe(self._index, None, now, False)
                        start = self._clock.time_of(self._index)
                        self.clock_resets += 1
                y = self.line.read(frames, start, self.rate, now=now)
            except Exception:  # a bug here must not stop the output (PortAudio would abort it)
                if not holder.get("failed"):
                    holder["failed"] = True
                    log.exception("audio: preparing an output block failed")
                y = np.zeros(frames, np.float32)
            outdata[:] = y[:, None] if self.channels > 1 else y.reshape(-1, 1)
            with self._history_lock:
                k = self._index % len(self._history)
                first = min(frames, len(self._history) - k)
                self._history[k:k + first] = y[:first]
                self._history[:frames - first] = y[first:]
                self._index += frames

        with pulse_target(endpoint.variable, endpoint.pulse_name):
            try:
                stream = sd.OutputStream(device=endpoint.device, channels=self.channels, samplerate=self.rate,
                                         blocksize=self.block, latency=self.latency, dtype="float32",
                                         callback=callback)
            except (sd.PortAudioError, ValueError) as exc:  # ValueError: PortAudio lists no such device
                raise AudioDeviceError(f"audio output {endpoint.label!r} cannot be opened ({exc})") from None
        holder["stream"] = stream
        start_stream(stream, f"audio output {endpoint.label!r}")
        self._stream = stream
        self.opens += 1
        if self.listen and self.listener is None and endpoint.pulse_name is not None:
            self.listener = OutputListener(self, Endpoint(endpoint.device, f"{endpoint.pulse_name}.monitor",
                                                          f"monitor of {endpoint.label}", "input"))
            self.listener.start()

    # -- for the listener ------------------------------------------------------------------------
    def history_around(self, t_ns: int, n: int, margin: int) -> tuple[np.ndarray, int, float, int] | None:
        """The samples written around the time `t_ns` (n of them, plus `margin` either side):
        (samples, index of the first, the index the clock puts at t_ns, stream generation);
        None when they are not all in the history."""
        with self._history_lock:
            if not self._clock.ready:
                return None
            at = self._clock.index_at(t_ns)
            first = int(np.floor(at)) - margin
            last = first + n + 2 * margin
            if first < max(0, self._index - len(self._history)) or last > self._index:
                return None
            idx = np.arange(first, last) % len(self._history)
            return self._history[idx].copy(), first, at, self._generation

    def correct_clock(self, ns: float, generation: int) -> bool:
        """Apply a listener's correction if the stream it measured is still the current one."""
        with self._history_lock:
            if generation != self._generation:
                return False
            self._clock.correct(float(np.clip(ns, -MAX_STEP_NS, MAX_STEP_NS)))
            return True

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_stream(stream, "the audio output")

    def _run(self) -> None:
        warned: str | None = None
        recent: deque[float] = deque()  # times of recent underruns
        seen = 0
        while not self._stop.is_set():
            if self._stream is None:
                try:
                    self._open()
                    if warned is not None:
                        log.info("audio: output %s is back", self.label)
                    warned = None
                    self.status, self.reason = "playing", None
                except AudioDeviceError as exc:
                    self.status, self.reason = "missing", str(exc)
                    if warned != str(exc):
                        log.warning("audio: %s; retrying every %.0f s", exc, self.retry_s)
                        warned = str(exc)
                    self._stop.wait(self.retry_s)
                    continue
            if not self._stream.active:  # the device failed under us
                log.warning("audio: output %s stopped; reopening", self.label)
                self._close_stream()
                self.status = "missing"
                continue
            now = time.monotonic()
            recent.extend([now] * (self.underflows - seen))
            seen = self.underflows
            while recent and recent[0] < now - UNDERRUN_WINDOW_S:
                recent.popleft()
            if len(recent) >= UNDERRUNS_TO_GROW and self.latency < self.max_latency:
                self.latency = min(self.max_latency, self.latency * 1.5)  # a busy machine: buffer more
                log.info("audio: output %s ran dry; buffering %.0f ms from now on", self.label, self.latency * 1000)
                self._close_stream()
                recent.clear()
                continue
            self._stop.wait(0.2)

