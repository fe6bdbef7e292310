"""A looping video behind the person, decoded ahead in its own thread."""

from __future__ import annotations

import queue
from pathlib import Path

import av
import numpy as np

from app.engine.core.errors import InputError
from app.engine.core.threads import Worker
from app.engine.imaging.images import fit_geometry, fit_image
from app.engine.imaging.media import decode_error, display_rotation, open_video_input, upright, upright_size

QUEUE_FRAMES = 6
EPSILON = 1e-6  # seconds: a picture due at exactly `seconds` is shown
CLOSE_TIMEOUT_S = 2.0


class VideoBackground:
    """Plays a video file in a loop at its own speed.

    `render(frame, seconds)` returns the picture due at `seconds` on the caller's timeline
    (file time when processing files, wall time when live), so the background keeps its own
    pace whatever the camera's frame rate. Decoding and scaling run in a named thread that
    stays a few frames ahead; `close()` stops it. The GL compositor asks for the video's own
    pictures instead (`native`) and scales them on the GPU, when they need no shrinking.
    A display rotation (a phone's portrait clip) is applied: pictures and `source_size` are
    upright.
    """

    def __init__(self, path: Path, fit: str = "cover") -> None:
        self.path, self.fit = path, fit
        with open_video_input(path) as container:
            stream = container.streams.video[0]
            try:
                first = next(container.decode(stream))
            except StopIteration:
                raise InputError(f"{path}: has no video frames") from None
            except av.FFmpegError as exc:
                raise decode_error(path, exc) from None
        self.rotation = display_rotation(path)  # counter-clockwise degrees applied to each picture
        self.source_size: tuple[int, int] = upright_size((first.width, first.height), self.rotation)
        self._size = self.source_size
        self._fitted = True  # the thread fits pictures to the frame (else they stay as decoded)
        self._queue: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(QUEUE_FRAMES)
        self._worker = Worker("bg-video", self._decode_loop)  # its error: why decoding stopped early
        self._stop = self._worker.stop
        self._started = False
        self._current: tuple[float, np.ndarray] | None = None
        self._next: tuple[float, np.ndarray] | None = None  # decoded, not yet due
        self._fitted_cache: tuple[np.ndarray, np.ndarray] | None = None  # (decoded, fitted)

    def _ensure_started(self, size: tuple[int, int], fitted: bool = True) -> None:
        if not self._started:
            self._size, self._fitted = size, fitted
            self._started = True
            self._worker.start()

    def _decode_loop(self) -> None:
        offset = 0.0
        while not self._stop.is_set():
            last, frames = offset, 0
            step = 1.0 / 30
            try:
                with av.open(str(self.path)) as container:
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                    step = 1.0 / float(stream.average_rate or 30)
                    start = None
                    for vf in container.decode(stream):
                        t = vf.time if vf.time is not None else 0.0
                        start = t if start is None else start
                        last = offset + (t - start)
                        image = upright(vf.to_ndarray(format="rgb24"), self.rotation)
                        if self._fitted:
                            image = fit_image(image, self._size, self.fit)
                        frames += 1
                        if not self._put((last, image)):
                            return
            except av.FFmpegError as exc:
                if frames == 0:  # not even one picture this pass: give up, say why
                    raise decode_error(self.path, exc) from None
                # a broken tail: loop over what could be decoded
            if frames == 0:
                raise InputError(f"{self.path}: has no video frames")
            offset = last + step

    def _put(self, item: tuple[float, np.ndarray]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        h, w = frame_rgb.shape[:2]
        self._ensure_started((w, h))
        image = self._advance(seconds)
        if image.shape[:2] != (h, w):
            if self._fitted_cache is None or self._fitted_cache[0] is not image or \
                    self._fitted_cache[1].shape[:2] != (h, w):
                self._fitted_cache = (image, fit_image(image, (w, h), self.fit))
            image = self._fitted_cache[1]
        return image

    def native(self, frame_size: tuple[int, int],
               seconds: float) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """The picture due at `seconds` as decoded, and where it goes in a frame of
        `frame_size` (`fit_geometry`), for a caller that scales it itself (the GL
        compositor). None when it would have to be shrunk (the CPU's area filter does that
        better), for `stretch`, or once the thread fits pictures for `render`."""
        geometry = fit_geometry(self.source_size, frame_size, self.fit)
        if self.fit == "stretch" or geometry[0] < self.source_size[0] or geometry[1] < self.source_size[1]:
            return None
        self._ensure_started(frame_size, fitted=False)
        if self._fitted:
            return None
        return self._advance(seconds), geometry

    def _advance(self, seconds: float) -> np.ndarray:
        """The last decoded picture due at or before `seconds` (looking one ahead)."""
        while self._current is None:
            try:
                self._current = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._started and not self._worker.alive:
                    error = self._worker.error or InputError(f"{self.path}: decoding stopped")
                    raise error if isinstance(error, InputError) else InputError(
                        f"{self.path}: decoding failed ({type(error).__name__}: {error})") from None
        while True:
            if self._next is None:
                try:  # wait a little for a decoder that is behind, never stall the frame for long
                    self._next = self._queue.get(timeout=0.5) if self._queue.empty() else self._queue.get_nowait()
                except queue.Empty:
                    break
            if self._next[0] > seconds + EPSILON:
                break
            self._current, self._next = self._next, None
        return self._current[1]

    def close(self) -> None:
        """Stop the decoding thread; safe to call twice."""
        self._worker.end(CLOSE_TIMEOUT_S)
