"""A video file's own sound as the live microphone: when the file is the camera, each pass
of its pictures is matched by its sound, stamped on the same clock, so the rest of the
live audio path (delay line, virtual microphone, recordings, streams) treats it as it
treats a microphone."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import av
import numpy as np

from app.engine.audio.clock import NS
from app.engine.audio.timeline import BlockTimeline
from app.engine.audio.worker import Worker
from app.engine.core.frame import now_ns

log = logging.getLogger("backdrop.audio")

WATCH_S = 0.02
LEAD_S = 0.1  # blocks are handed on this long before they are due: the file's sound is never late
HOLDOFF_S = 0.2  # between passes the timeline goes on with silence up to this long ago


class FileAudio(BlockTimeline):
    """The sound of `path`, played as its pictures are. `play(origin_ns, video_start_s)`
    starts a pass (the source calls it when its pictures start again: the picture of media
    time `video_start_s` is due at `origin_ns`), `stop_playing()` ends it (paused, ended).
    Blocks of `block` samples are handed on LEAD_S before they would have been captured (a
    file's sound is there ahead of time; a microphone's comes late): sample time t is
    stamped `origin_ns + (t - video_start_s)`. A newer pass cuts the current one
    at its origin. `status` is 'starting', 'capturing' or 'missing' (`reason` says why)."""

    def __init__(self, path: Path, *, rate: int = 48000, block: int = 480) -> None:
        super().__init__(rate, block)
        self.path = Path(path)
        self.label = f"the sound of {self.path.name}"
        self.status = "starting"
        self.reason: str | None = None
        self.delivering_since: int | None = None
        self.passes = 0
        self._pending: list[tuple[int, float] | None] = []  # passes asked for (None: stop playing)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._worker = Worker("backdrop-audio-file", self._run)
        self._stop = self._worker.stop

    # -- the source's side ----------------------------------------------------------------
    def play(self, origin_ns: int, video_start_s: float) -> None:
        with self._lock:
            self._pending.append((int(origin_ns), float(video_start_s)))
        self._wake.set()

    def stop_playing(self) -> None:
        with self._lock:
            self._pending.append(None)
        self._wake.set()

    # -- life ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker that plays the passes; idempotent."""
        self._worker.start()

    def close(self) -> None:
        """Stop playing; safe to call twice."""
        self._wake.set()
        self._worker.end(timeout=5.0)

    # -- the worker --------------------------------------------------------------------------
    def _next(self) -> tuple[int, float] | None:
        with self._lock:
            return self._pending.pop(0) if self._pending else None

    def _newer(self) -> tuple[int, float] | None | bool:
        """The next pass asked for (or None for a stop), False when none is waiting."""
        with self._lock:
            return self._pending[0] if self._pending else False

    def _run(self) -> None:
        current: tuple[int, float] | None = None
        while not self._stop.is_set():
            current = current or self._next()
            if current is None:
                self._fill_silence(now_ns() - int(HOLDOFF_S * NS))
                self._wake.wait(WATCH_S)
                self._wake.clear()
                continue
            current = self._play_pass(*current)

    def _play_pass(self, origin_ns: int, video_start_s: float) -> tuple[int, float] | None:
        """Play one pass; returns the pass that cut it short (None when it ended or stopped)."""
        self.passes += 1
        try:
            for samples, media_s in self._decoded():
                stamp = origin_ns + int(round((media_s - video_start_s) * NS))
                for k in range(0, len(samples), self.block):
                    piece = samples[k:k + self.block]
                    piece_ns = stamp + k * NS // self.rate
                    cut = self._wait_until(piece_ns + len(piece) * NS // self.rate - int(LEAD_S * NS))
                    if self._stop.is_set() or cut is None:  # closed, or the pictures stopped
                        return self._next()
                    if cut is not False:  # the next pass starts within this piece: up to there
                        piece = piece[:max(0, (cut[0] - piece_ns) * self.rate // NS)]
                    if len(piece):
                        self.delivering_since = self.delivering_since or now_ns()
                        self._emit_stamped(piece, piece_ns)
                    if cut is not False:
                        return self._next()
        except (av.FFmpegError, OSError) as exc:
            if self.status != "missing":
                log.warning("audio: %s: the sound cannot be decoded (%s); silence instead", self.path, exc)
            self.status, self.reason = "missing", f"{self.path}: the sound cannot be decoded ({exc})"
        return None

    def _wait_until(self, t_ns: int) -> tuple[int, float] | None | bool:
        """Sleep until `t_ns` (or a stop); returns a newer pass or stop asked for meanwhile
        that is due by then, else False."""
        while not self._stop.is_set():
            newer = self._newer()
            if newer is None or (newer is not False and newer[0] <= t_ns):
                return newer
            wait = (t_ns - now_ns()) / NS
            if wait <= 0:
                return False
            self._wake.wait(min(wait, WATCH_S))
            self._wake.clear()
        return False

    def _decoded(self):
        """(mono float32 samples at `rate`, media time of the first) for the whole sound."""
        with av.open(str(self.path)) as container:
            if not container.streams.audio:
                raise OSError("the file has no sound")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
            start_s: float | None = None
            count = 0
            for frame in container.decode(stream):
                if start_s is None:
                    start_s = float(frame.time) if frame.time is not None else 0.0
                    self.status, self.reason = "capturing", None
                for out in resampler.resample(frame):
                    samples = np.ascontiguousarray(out.to_ndarray().reshape(-1), np.float32)
                    yield samples, start_s + count / self.rate
                    count += len(samples)
            for out in resampler.resample(None):
                samples = np.ascontiguousarray(out.to_ndarray().reshape(-1), np.float32)
                yield samples, (start_s or 0.0) + count / self.rate
                count += len(samples)
