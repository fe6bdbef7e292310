"""A video file played in real time, like a camera: for rehearsing a stream and for tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from app.engine.core.frame import Frame, now_ns
from app.engine.imaging.media import (
    check_complete,
    decode_error,
    display_rotation,
    open_video_input,
    upright,
    upright_size,
)
from app.engine.sources.base import LiveSource


class RealtimeFileSource(LiveSource):
    """Delivers a file's frames at the pace of their timestamps (newest frame only, like a
    webcam), optionally looping. Frames are stamped with the time they are delivered, and
    come upright (a display rotation is applied; `size` is the upright size)."""

    def __init__(self, path: Path, loop: bool = False) -> None:
        with open_video_input(path) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 30
            size = (stream.codec_context.width, stream.codec_context.height)
            self.has_audio = bool(container.streams.audio)
        self.rotation = display_rotation(path)  # counter-clockwise degrees applied to each frame
        self.size = upright_size(size, self.rotation)
        super().__init__(path.stem, rate)
        self.path, self.loop = path, loop

    def first_picture(self, timeout: float) -> np.ndarray | None:
        """The file's first picture, decoded aside: playing has not started, nothing is lost."""
        try:
            with av.open(str(self.path)) as container:
                for vf in container.decode(container.streams.video[0]):
                    return upright(vf.to_ndarray(format="rgb24"), self.rotation)
        except (av.FFmpegError, OSError):
            pass  # the capture reports what is wrong with the file
        return None

    def _capture(self) -> Iterator[Frame]:
        index = 0
        start_wall = time.monotonic()
        offset = 0.0  # media seconds played in earlier loops
        while not self._stop.is_set():
            last, decoded, reached = 0.0, 0, None
            try:
                with av.open(str(self.path)) as container:
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                    first = None
                    for vf in container.decode(stream):
                        if self._stop.is_set():
                            return
                        t = vf.time if vf.time is not None else index / float(self.frame_rate)
                        first = t if first is None else first
                        last = t - first
                        delay = start_wall + offset + last - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        image = upright(vf.to_ndarray(format="rgb24"), self.rotation)
                        yield Frame(image=image, capture_ns=now_ns(), index=index)
                        index += 1
                        decoded, reached = decoded + 1, t + 1.0 / float(self.frame_rate)
                    check_complete(self.path, stream, decoded, reached)
            except av.FFmpegError as exc:
                raise decode_error(self.path, exc) from None
            if not self.loop:
                return
            offset += last + 1.0 / float(self.frame_rate)
