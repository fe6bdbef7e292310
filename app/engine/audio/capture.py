"""Microphone capture: mono blocks stamped on the frames' clock, on an unbroken timeline
(silence while the device is missing or stalled; the device is reopened every `retry_s`).
Design notes: docs/audio.md.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from app.engine.audio.clock import NS, SampleClock
from app.engine.audio.endpoints import AudioDeviceError, Endpoint, _sounddevice, resolve
from app.engine.audio.pulse import pulse_target
from app.engine.audio.realtime import make_this_thread_realtime
from app.engine.audio.timeline import BlockTimeline
from app.engine.audio.worker import Worker, close_stream, start_stream
from app.engine.core.frame import now_ns

log = logging.getLogger("backdrop.audio")

WATCH_S = 0.02
MAX_HELD = 12         # blocks held back while the clock decides whether the device jumped
FIRST_DATA_S = 6.0     # a stream just opened may take this long to deliver (ALSA's pulse plugin: ~2 s)
PLAUSIBLE_LAG_NS = 40_000_000  # a timing report claiming older samples than this (+3 blocks) is ignored


@dataclass
class _Raw:
    generation: int
    index: int
    samples: np.ndarray
    stamp_ns: float | None
    arrival_ns: int
    lost: bool = False


class AudioCapture(BlockTimeline):
    """Captures `device` (see `endpoints.resolve`) at `rate` Hz in blocks of `block` samples,
    mixed down to mono, or only input `channel` (0-based) when given.

    `tap()` gives a DelayLine that receives every block from now on. `status` is
    'starting', 'capturing', 'missing' (cannot be opened) or 'stalled' (opened, silent);
    `reason` says why for the last two. Silence inserted and overlaps dropped are counted
    in seconds (`silence_s`, `dropped_s`); `overflows` and `stalls` count the times samples
    were lost or stopped coming.
    """

    def __init__(self, device: str | int | Endpoint | None = None, *, rate: int = 48000, block: int = 240,
                 latency: float = 0.05, retry_s: float = 2.0, stall_s: float = 0.25, holdoff_s: float = 0.2,
                 reopen_s: float = 2.0, channel: int | None = None) -> None:
        super().__init__(rate, block)
        self.device, self.latency = device, latency
        self.channel = channel
        self.retry_s, self.stall_s, self.holdoff_s, self.reopen_s = retry_s, stall_s, holdoff_s, reopen_s
        self.status = "starting"
        self.reason: str | None = None
        self.label = str(device if device is not None else "default input")
        self.opens = 0
        self.overflows = 0
        self.stalls = 0
        self._proc_lock = threading.Lock()  # the callback and the watcher both extend the timeline
        self._worker = Worker("backdrop-audio-watch", self._run)
        self._stop = self._worker.stop
        self._stream = None
        self._generation = 0
        self._cb_index = 0
        self._clock = SampleClock(self.rate, offset_ns=-block * NS / self.rate)
        self._held: list[_Raw] = []
        self._last_arrival = 0
        self._delivered = False
        self.delivering_since: int | None = None  # when the current stream's first block came

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the watcher, which opens the device (and keeps retrying); idempotent."""
        self._worker.start()

    def close(self) -> None:
        """Stop capturing and release the device; safe to call twice."""
        if self._worker.end(timeout=5.0):
            self._close_stream()

    # -- the device -------------------------------------------------------------------------
    def _open(self) -> None:
        sd = _sounddevice()
        endpoint = self.device if isinstance(self.device, Endpoint) else resolve(self.device, "input")
        self.label = endpoint.label
        generation = self._generation + 1  # blocks of an older stream, still closing, are ignored
        self._cb_index = 0
        holder: dict[str, object] = {}

        def callback(indata, frames, time_info, status) -> None:
            if not holder.get("rt"):
                holder["rt"] = True
                make_this_thread_realtime()
            now = now_ns()
            lost = bool(status.input_overflow)
            if lost:
                self.overflows += 1
            stream = holder.get("stream")
            adc = time_info.inputBufferAdcTime
            stamp = now - (stream.time - adc) * 1e9 if adc and stream is not None else None
            if indata.shape[1] == 1:
                mono = indata[:, 0].copy()
            elif self.channel is not None:
                mono = indata[:, min(self.channel, indata.shape[1] - 1)].copy()
            else:
                mono = indata.mean(axis=1, dtype=np.float32)
            item = _Raw(generation, self._cb_index, mono, stamp, now, lost)
            self._cb_index += frames
            try:
                with self._proc_lock:
                    self._take(item)
            except Exception:  # a bug here must not stop the microphone (PortAudio would abort it)
                if not holder.get("failed"):
                    holder["failed"] = True
                    log.exception("audio: handling a microphone block failed")

        channels = 1 if self.channel is None else max(2, self.channel + 1)
        with pulse_target(endpoint.variable, endpoint.pulse_name):
            try:
                try:
                    stream = sd.InputStream(device=endpoint.device, channels=channels, samplerate=self.rate,
                                            blocksize=self.block, latency=self.latency, dtype="float32",
                                            callback=callback)
                except sd.PortAudioError as exc:
                    if "channel" not in str(exc).lower():
                        raise
                    channels = max(1, int(sd.query_devices(endpoint.device, "input")["max_input_channels"]))
                    stream = sd.InputStream(device=endpoint.device, channels=channels, samplerate=self.rate,
                                            blocksize=self.block, latency=self.latency, dtype="float32",
                                            callback=callback)
            except (sd.PortAudioError, ValueError) as exc:  # ValueError: PortAudio lists no such device
                raise AudioDeviceError(f"microphone {endpoint.label!r} cannot be opened ({exc})") from None
        holder["stream"] = stream
        with self._proc_lock:
            self._generation = generation
            self._delivered = False
            self.delivering_since = None
            self._clock.reset()
            self._held.clear()
            self._last_arrival = now_ns()
        start_stream(stream, f"microphone {endpoint.label!r}")
        self._stream = stream
        self.opens += 1

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_stream(stream, "the microphone")

    # -- the watcher ------------------------------------------------------------------------
    def _run(self) -> None:
        next_open = 0
        warned: str | None = None
        stalled = False
        while not self._stop.is_set():
            now = now_ns()
            if self._stream is None and now >= next_open:
                try:
                    self._open()
                    if warned is not None:
                        log.info("audio: microphone %s is back", self.label)
                    warned = None
                    self.status, self.reason = "capturing", None
                except AudioDeviceError as exc:
                    self.status, self.reason = "missing", str(exc)
                    if warned != str(exc):
                        log.warning("audio: %s; video goes on, audio retried every %.0f s", exc, self.retry_s)
                        warned = str(exc)
                    next_open = now + int(self.retry_s * NS)
            self._stop.wait(WATCH_S)
            if self._delivered and self.status == "stalled":
                log.info("audio: microphone %s delivers again", self.label)
                self.status, self.reason = "capturing", None
            now = now_ns()
            quiet_for = now - self._last_arrival
            if self._stream is None or quiet_for > self.stall_s * NS:
                if self._delivered and not stalled:
                    self.stalls += 1  # samples stopped coming for a while (busy machine, unplugged)
                stalled = self._delivered
                with self._proc_lock:
                    self._fill_silence(now - int(self.holdoff_s * NS))
            else:
                stalled = False
            grace = self.reopen_s if self._delivered else max(self.reopen_s, FIRST_DATA_S)
            if self._stream is not None and quiet_for > grace * NS:
                if self.status != "stalled":
                    log.warning("audio: microphone %s stopped delivering; silence meanwhile, reopening", self.label)
                    self.status, self.reason = "stalled", "no samples for %.1f s" % (quiet_for / NS)
                self._close_stream()
                next_open = now
                self._last_arrival = now  # the next reopen is due after another reopen_s

    def _take(self, raw: _Raw) -> None:
        """Stamp a block and pass it on (with _proc_lock held)."""
        if raw.generation != self._generation:
            return
        self._last_arrival = raw.arrival_ns
        if not self._delivered:
            self._delivered = True
            self.delivering_since = raw.arrival_ns
        block_ns = len(raw.samples) * NS / self.rate
        plausible = raw.stamp_ns is not None and \
            -block_ns - 5e6 <= raw.arrival_ns - raw.stamp_ns <= PLAUSIBLE_LAG_NS + 3 * block_ns
        self._clock.observe(raw.index, raw.stamp_ns if plausible else None, raw.arrival_ns, raw.lost)
        self._held.append(raw)
        if self._clock.holding and len(self._held) < MAX_HELD:
            return
        held, self._held = self._held, []
        for item in held:
            self._emit_stamped(item.samples, self._clock.time_of(item.index))
