"""A looping video behind the person, decoded ahead in its own thread."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import av
import numpy as np

from app.engine.errors import InputError
from app.engine.imaging import fit_image
from app.engine.media import decode_error, open_video_input

QUEUE_FRAMES = 6


class VideoBackground:
    """Plays a video file in a loop at its own speed.

    `render(frame, seconds)` returns the picture due at `seconds` on the caller's timeline
    (file time when processing files, wall time when live), so the background keeps its own
    pace whatever the camera's frame rate. Decoding and scaling run in a named thread that
    stays a few frames ahead; `close()` stops it.
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
        self._size: tuple[int, int] = (first.width, first.height)
        self._queue: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(QUEUE_FRAMES)
        self._stop = threading.Event()
        self._current: tuple[float, np.ndarray] | None = None
        self._thread: threading.Thread | None = None

    def _ensure_started(self, size: tuple[int, int]) -> None:
        if self._thread is None:
            self._size = size
            self._thread = threading.Thread(target=self._decode_loop, name="backdrop-bg-video", daemon=True)
            self._thread.start()

    def _decode_loop(self) -> None:
        offset = 0.0
        while not self._stop.is_set():
            last = offset
            try:
                with av.open(str(self.path)) as container:
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                    start = None
                    for vf in container.decode(stream):
                        t = vf.time if vf.time is not None else 0.0
                        start = t if start is None else start
                        last = offset + (t - start)
                        image = fit_image(vf.to_ndarray(format="rgb24"), self._size, self.fit)
                        if not self._put((last, image)):
                            return
                    step = 1.0 / float(stream.average_rate or 30)
            except av.FFmpegError:
                step = 1.0 / 30  # a broken tail: loop over what could be decoded
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
        if self._current is None:
            self._current = self._queue.get()
        while self._current[0] < seconds:
            try:
                nxt = self._queue.get(timeout=0.5) if self._queue.empty() else self._queue.get_nowait()
            except queue.Empty:
                break  # decoder behind: keep the last picture rather than stall the frame
            self._current = nxt
            if nxt[0] >= seconds:
                break
        image = self._current[1]
        if image.shape[:2] != (h, w):
            image = fit_image(image, (w, h), self.fit)
        return image

    def close(self) -> None:
        """Stop the decoding thread; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
