"""Carries a source file's audio into an output container, by timestamps (copied, or
re-encoded where the container cannot hold the codec), so it stays in sync.
See docs/outputs.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av

COPYABLE = {
    "mp4": {"aac", "mp3", "alac", "opus", "ac3"},
    "mov": {"aac", "mp3", "alac", "pcm_s16le", "ac3"},
    "matroska": None,  # holds anything
    "webm": {"opus", "vorbis"},
}
ENCODER = {"webm": "libopus"}
DEFAULT_ENCODER = "aac"


class AudioCarrier:
    """Copies (or transcodes) the first audio stream of `source` into `output`.

    Call `advance_to(seconds)` as video is written so the two stay interleaved, and
    `finish()` once at the end to write the rest.
    """

    def __init__(self, source: Path, output: "av.container.OutputContainer", container_format: str) -> None:
        self._input = av.open(str(source))
        self._in_stream = self._input.streams.audio[0]
        allowed = COPYABLE.get(container_format)
        codec = self._in_stream.codec_context.codec.canonical_name  # 'mp3', not the decoder 'mp3float'
        self._copy = allowed is None or codec in allowed
        if self._copy:
            self._out_stream = output.add_stream_from_template(self._in_stream)
        else:
            rate = self._in_stream.codec_context.sample_rate or 48000
            encoder = ENCODER.get(container_format, DEFAULT_ENCODER)
            if encoder == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
                rate = 48000
            self._out_stream = output.add_stream(encoder, rate=rate)
            self._out_stream.layout = self._in_stream.codec_context.layout.name if self._in_stream.codec_context.layout else "stereo"
            self._resampler = av.AudioResampler(format=self._out_stream.codec_context.format.name,
                                                layout=self._out_stream.layout, rate=rate)
        self._output = output
        self._packets: Iterator[av.Packet] = self._input.demux(self._in_stream)
        self._pending: av.Packet | None = None
        self._done = False

    def _next_packet(self) -> av.Packet | None:
        for packet in self._packets:
            if packet.dts is not None and packet.size:
                return packet
        return None

    def advance_to(self, seconds: float | None) -> None:
        """Write every audio packet that starts before `seconds` (all of them if None)."""
        while not self._done:
            packet = self._pending or self._next_packet()
            self._pending = None
            if packet is None:
                self._done = True
                break
            t = float(packet.pts * packet.time_base) if packet.pts is not None else None
            if seconds is not None and t is not None and t > seconds:
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        if self._copy:
            packet.stream = self._out_stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            for converted in self._resampler.resample(frame):
                self._output.mux(self._out_stream.encode(converted))

    def finish(self) -> None:
        """Write the remaining audio and flush the encoder; closes the input."""
        try:
            self.advance_to(None)
            if not self._copy:
                for converted in self._resampler.resample(None):
                    self._output.mux(self._out_stream.encode(converted))
                self._output.mux(self._out_stream.encode(None))
        finally:
            self._input.close()

    def close(self) -> None:
        self._input.close()
