"""Microphone audio into a container beside live video, placed by capture time, so the
track neither drifts nor slips. See docs/audio.md.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np

from app.engine.audio.clock import NS
from app.engine.audio.delay_line import DelayLine

RATE = 48000
SAFETY_NS = 3_000_000  # read only audio this much older than the newest captured sample
FINISH_WAIT_S = 0.5


class LiveAudioTrack:
    """An AAC (or Opus for WebM/`codec`) stereo track fed from `tap`. Call `write_until(t)`
    as video frames are written (t: capture ns) and `finish(t)` at the end."""

    def __init__(self, container: "av.container.OutputContainer", tap: DelayLine, origin_ns: int, *,
                 codec: str = "aac", rate: int = RATE, bitrate: int = 160_000) -> None:
        self.container, self.tap, self.origin_ns, self.rate = container, tap, origin_ns, rate
        self.stream = container.add_stream(codec, rate=rate)
        self.stream.layout = "stereo"
        self.stream.bit_rate = bitrate
        self.stream.time_base = Fraction(1, rate)
        self.frame_size = self.stream.codec_context.frame_size or 1024
        self.samples = 0
        self._finished = False

    def _time_of(self, sample: int) -> int:
        return self.origin_ns + sample * NS // self.rate

    def write_until(self, until_ns: int) -> None:
        """Encode every whole audio frame that ends by `until_ns` and has been captured."""
        available = self.tap.available_ns()
        if available is None:
            return
        limit = min(until_ns, available - SAFETY_NS)
        while self._time_of(self.samples + self.frame_size) <= limit:
            self._encode(self.frame_size)

    def _encode(self, n: int) -> None:
        mono = self.tap.read(n, self._time_of(self.samples), self.rate)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.vstack([mono, mono])), format="fltp",
                                           layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.samples, Fraction(1, self.rate)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.samples += n

    def finish(self, until_ns: int) -> None:
        """Write what was captured up to `until_ns` and flush the encoder; once."""
        if self._finished:
            return
        self._finished = True
        deadline = time.monotonic() + FINISH_WAIT_S  # the last samples may still be on their way
        while (self.tap.available_ns() or 0) < until_ns + SAFETY_NS and time.monotonic() < deadline:
            time.sleep(0.01)
        self.write_until(until_ns)
        for packet in self.stream.encode(None):
            self.container.mux(packet)
