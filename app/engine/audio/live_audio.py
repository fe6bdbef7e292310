"""The live audio path: microphone -> delay line (video latency + offset) -> virtual
microphone. `LiveAudio` owns them and follows the video's latency; nothing here stops the
video: a missing microphone or output is reported and retried. See docs/audio.md.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from app.engine.audio import pulse
from app.engine.audio.capture import AudioCapture
from app.engine.audio.delay_line import DelayLine
from app.engine.audio.endpoints import Endpoint
from app.engine.audio.file_audio import FileAudio
from app.engine.audio.player import AudioPlayer
from app.engine.audio.virtual_mic import InUseError, VirtualMicrophone
from app.engine.audio.worker import Worker

log = logging.getLogger("backdrop.audio")

RATE = 48000
DEADBAND_MS = 1.0  # smaller moves of the measured video latency are not followed
HOLD_MARGIN_MS = 10.0  # the picture waits this much beyond the soonest the sound can play (room for the
                       # sound's path to slow down before the picture is ahead of it)
SWITCH_INTERVAL_S = 0.001
FIRST_LATENCY_WAIT_S = 10.0  # play with the offset alone if no video latency comes by then
PLAYER_SETTLE_S = 1.0  # a new player's first timing reports include its start-up buffer: not passed on
LOOPBACK_HINT = {"win32": "install VB-Cable and pass --mic-out \"CABLE Input\"; apps then pick \"CABLE Output\"",
                 "darwin": "install BlackHole and pass --mic-out \"BlackHole 2ch\"; apps then pick \"BlackHole 2ch\""}


def loopback_hint() -> str:
    """How a user gets a virtual microphone on this OS."""
    return LOOPBACK_HINT.get(sys.platform, "start PulseAudio or PipeWire (pipewire-pulse), or pass --mic-out DEVICE")


class LiveAudio:
    """Microphone `mic` (or a video file's own sound, a FileAudio) held back by
    `latency_ms()` + `offset_ms` and played to a virtual microphone (`virtual_mic`, created
    here; True: the default one) or to the device `mic_out`. With neither, only taps (recording, stream) get the audio.

    `delay_ms` is the delay currently played (None before any sound has been played).
    `on_delay(ms)` is called with it every `follow_s`; `on_video_hold(ms)` with how long
    after capture the picture should leave at the soonest: when the sound cannot get
    through as fast as the picture is made (small frames, a fast machine), the picture
    waits for it, so the two still leave together.
    """

    def __init__(self, mic: str | int | Endpoint | FileAudio | None = None, *, virtual_mic: VirtualMicrophone | bool = True,
                 mic_out: str | int | Endpoint | None = None, offset_ms: float = 0.0,
                 latency_ms: Callable[[], float | None] | None = None, rate: int = RATE,
                 follow_s: float = 0.1, channel: int | None = None) -> None:
        self.offset_ms = float(offset_ms)
        self.latency_ms = latency_ms
        self.follow_s = follow_s
        self.capture: AudioCapture | FileAudio = mic if isinstance(mic, FileAudio) else \
            AudioCapture(mic, rate=rate, channel=channel)
        self.line: DelayLine = self.capture.tap(delay_ms=max(0.0, self.offset_ms))
        self.virtual_mic: VirtualMicrophone | None = None
        if mic_out is None and virtual_mic:
            self.virtual_mic = virtual_mic if isinstance(virtual_mic, VirtualMicrophone) else VirtualMicrophone()
        self._mic_out = mic_out
        self.player: AudioPlayer | None = None
        self.on_delay: Callable[[float | None], None] | None = None
        self.on_video_hold: Callable[[float], None] | None = None
        self._output: str | int | Endpoint | None = None
        self._worker = Worker("backdrop-audio-sync", self._follow)
        self._stop = self._worker.stop
        self._player_started = 0.0
        self.problem: str | None = None  # why there is no virtual microphone, when there is none

    def tap(self) -> DelayLine:
        """A delay-free copy of the microphone on the capture clock, for a muxer."""
        return self.capture.tap()

    @property
    def delay_ms(self) -> float | None:
        return self.line.current_delay_ms

    def start(self) -> None:
        """Start capturing and playing; problems with devices are logged, never raised."""
        # audio callbacks wait for the interpreter lock behind the video threads; a shorter
        # switch interval bounds that wait (the default 5 ms costs ~10 ms of headroom a block)
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        output: str | int | Endpoint | None = self._mic_out
        if self.virtual_mic is not None:  # before the capture, so the capture never sees it appear
            try:
                self.virtual_mic.open()
                output = self.virtual_mic.output
            except pulse.PulseError as exc:
                self.problem = str(exc)
                advice = "" if isinstance(exc, InUseError) else f"; {loopback_hint()}"  # nothing to start
                log.warning("audio: no virtual microphone (%s)%s. The microphone still goes into "
                            "recordings and streams", exc, advice)
                self.virtual_mic = None
        self.capture.start()
        self._output = output
        if output is not None and self.latency_ms is None:
            self._start_player()
        self._worker.start()

    def _start_player(self) -> None:
        self.player = AudioPlayer(self.line, self._output, rate=RATE)
        self.player.start()
        self._player_started = time.monotonic()

    def _follow(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.follow_s):
            latency = self.latency_ms() if self.latency_ms is not None else None
            if latency is not None:
                target = max(0.0, latency + self.offset_ms)
                if abs(target - self.line.delay_ms) >= DEADBAND_MS:
                    self.line.set_delay(target)
            # play from the first measured latency on, so the delay starts right instead of drifting there
            if self.player is None and self._output is not None and \
                    (latency is not None or time.monotonic() - started > FIRST_LATENCY_WAIT_S):
                self._start_player()
            settled = self.player is not None and time.monotonic() - self._player_started >= PLAYER_SETTLE_S
            if self.on_delay is not None:
                self.on_delay(self.line.current_delay_ms if settled else None)
            soonest = self.line.soonest_ms
            if self.on_video_hold is not None and settled and soonest is not None:
                # the picture may not leave before the sound can: hold it that long (less the offset)
                self.on_video_hold(max(0.0, soonest + HOLD_MARGIN_MS - self.offset_ms))

    def close(self) -> None:
        """Stop everything and remove the virtual microphone; safe to call twice."""
        if not self._worker.end(timeout=2.0):
            return
        if self.player is not None:
            self.player.close()
        self.capture.close()
        if self.virtual_mic is not None:
            self.virtual_mic.close()
