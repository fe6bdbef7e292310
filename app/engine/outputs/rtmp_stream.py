"""Live streaming over RTMP (Twitch, YouTube): H.264 + AAC in FLV, sent from its own thread.

`write()` never blocks the live path: pictures go into a small bounded queue (the oldest is
dropped if the network is slow). The sender connects, encodes with the settings streaming
services expect (keyframe every 2 s, constant bitrate when asked, no B-frames), and on a
network error reconnects with backoff while the rest of live mode keeps running.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from app.engine.audio.delay_line import DelayLine
from app.engine.audio.muxing import LiveAudioTrack
from app.engine.core.errors import SettingsError
from app.engine.core.frame import Frame
from app.engine.core.threads import Worker

log = logging.getLogger("backdrop.stream")

QUEUE_FRAMES = 8
AUDIO_RATE = 48000
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
MS = Fraction(1, 1000)
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class StreamSettings:
    """Encoder settings. `bitrate_kbps` is the video target; `cbr` pads to a constant rate
    (what Twitch asks for); the keyframe interval is `keyframe_s` seconds."""

    bitrate_kbps: int = 4500
    cbr: bool = True
    keyframe_s: float = 2.0
    audio_kbps: int = 160
    preset: str = "veryfast"


def without_key(url: str) -> str:
    """`url` with its last path part (the stream key, on Twitch, YouTube and the like) hidden:
    rtmp://live.twitch.tv/app/live_123_abc -> rtmp://live.twitch.tv/app/****."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if not sep or "/" not in path:
        return url
    return f"{scheme}://{host}/{path.rsplit('/', 1)[0]}/****"


class RtmpStreamOutput:
    """Streams pictures to `url` until `close()`, with the microphone from `audio` (a tap,
    `LiveAudio.tap()`, muxed by capture time) or, without one, a silent track. Network
    errors are retried; any other error ends the sender and the next `write()` raises it."""

    def __init__(self, url: str, fps: float, settings: StreamSettings = StreamSettings(),
                 audio: "DelayLine | None" = None) -> None:
        if not url.startswith(("rtmp://", "rtmps://")):
            raise SettingsError(f"{url}: a stream address must start with rtmp:// or rtmps://")
        self.url, self.fps, self.settings, self.audio = url, fps, settings, audio
        self.shown_url = without_key(url)  # what logs and errors print: the stream key is a secret
        self.label = f"stream {self.shown_url}"  # what errors call it
        self._queue: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(QUEUE_FRAMES)
        self._worker = Worker("stream", self._run)
        self._stop = self._worker.stop
        self.connected = threading.Event()
        self.dropped = 0
        self.sent = 0
        self.connections = 0
        self.last_error: str | None = None
        self._worker.start()

    # -- the live path's side ------------------------------------------------------------
    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Queue a picture; drops the oldest queued one rather than wait."""
        self._worker.raise_error()
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
        item = (frame.capture_ns, image)
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def close(self) -> None:
        """Stop sending and close the connection; safe to call twice."""
        self._worker.end(CLOSE_TIMEOUT_S)

    abort = close

    # -- the sender thread ----------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._session(first)
                attempt = 0
            except (av.FFmpegError, OSError) as exc:
                self.connected.clear()
                self.last_error = str(exc)
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                log.warning("stream %s: %s; retrying in %.1f s", self.shown_url, str(exc).replace(self.url, self.shown_url),
                            delay)
                self._drain_for(delay)

    def _connected(self) -> None:
        self.connections += 1
        self.last_error = None
        self.connected.set()
        log.info("stream %s: connected", self.shown_url)

    @property
    def state(self) -> str:
        """What the statistics line says of the stream: connected (after the server's
        handshake, never before), connecting, or retrying with the last error; and the
        pictures dropped so far."""
        if self.connected.is_set():
            now = "connected"
        elif self.last_error:
            now = f"retrying ({self.last_error})"
        else:
            now = "connecting"
        return f"stream {now}, {self.dropped} dropped"

    def _drain_for(self, seconds: float) -> None:
        """Wait, throwing away pictures meanwhile so nothing piles up."""
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                self._queue.get(timeout=0.05)
                self.dropped += 1
            except queue.Empty:
                pass

    def _session(self, first: tuple[int, np.ndarray]) -> None:
        """One connection: runs until stop (returns) or a network error (raises)."""
        height, width = first[1].shape[:2]
        s = self.settings
        container = av.open(self.url, mode="w", format="flv", timeout=(5.0, 5.0))
        try:
            video = container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.time_base = video.codec_context.time_base = MS
            video.bit_rate = s.bitrate_kbps * 1000
            options = {"preset": s.preset, "tune": "zerolatency", "g": str(max(1, round(s.keyframe_s * self.fps))),
                       "keyint_min": str(max(1, round(s.keyframe_s * self.fps))), "bf": "0",
                       "maxrate": f"{s.bitrate_kbps}k", "bufsize": f"{2 * s.bitrate_kbps}k"}
            if s.cbr:
                options["x264-params"] = "nal-hrd=cbr:force-cfr=1"
            video.options = options
            track = None
            if self.audio is not None:
                track = LiveAudioTrack(container, self.audio, first[0], codec="aac", rate=AUDIO_RATE,
                                       bitrate=s.audio_kbps * 1000)
            else:
                audio = container.add_stream("aac", rate=AUDIO_RATE)
                audio.layout = "stereo"
                audio.bit_rate = s.audio_kbps * 1000
            origin_ns = first[0]
            audio_samples = 0
            item: tuple[int, np.ndarray] | None = first
            last_ms = -1
            while not self._stop.is_set():
                if item is None:
                    try:
                        item = self._queue.get(timeout=0.2)
                    except queue.Empty:
                        continue
                capture_ns, image = item
                item = None
                ms = max(last_ms + 1, (capture_ns - origin_ns) // 1_000_000)
                last_ms = ms
                vf = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
                vf.pts, vf.time_base = ms, MS
                for packet in video.encode(vf):
                    container.mux(packet)  # the first one opens the connection: RTMP's handshake
                    if not self.connected.is_set():
                        self._connected()
                if track is not None:
                    track.write_until(capture_ns)
                else:
                    audio_samples = self._silence_until(container, audio, audio_samples, ms)
                self.sent += 1
            for packet in video.encode(None):
                container.mux(packet)
            if track is not None:
                track.finish(origin_ns + (last_ms + 1) * 1_000_000)
        finally:
            self.connected.clear()
            try:
                container.close()
            except (av.FFmpegError, OSError):
                pass

    @staticmethod
    def _silence_until(container: "av.container.OutputContainer", audio: "av.AudioStream",
                       samples_done: int, ms: int) -> int:
        """Keep the audio track as long as the video with silence (services expect one)."""
        target = ms * AUDIO_RATE // 1000
        while samples_done + 1024 <= target + 1024:
            af = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = AUDIO_RATE, samples_done, Fraction(1, AUDIO_RATE)
            for packet in audio.encode(af):
                container.mux(packet)
            samples_done += 1024
        return samples_done
