"""A video file played in real time, like a camera: for rehearsing a stream and for tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

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

NS = 1_000_000_000
LATE_FRAMES = 2  # a frame due more than this many frame intervals ago is skipped
START_LEAD_S = 0.15  # a (re)started file's first picture is due this long after the start


class PassListener(Protocol):
    """Told when the pictures start a pass through the file and when they stop."""

    def play(self, origin_ns: int, video_start_s: float) -> None: ...

    def stop_playing(self) -> None: ...


class RealtimeFileSource(LiveSource):
    """Delivers a file's frames at the pace of their timestamps (newest frame only, like a
    webcam), optionally looping. Each frame is stamped with the time it is due (its media
    time from the pass's start), which is when it is delivered unless decoding falls behind;
    a frame more than LATE_FRAMES intervals behind is skipped (`late_skipped`). Frames come
    upright (a display rotation is applied; `size` is the upright size). `pass_listener`
    (the file's own sound) is told when each pass starts and when the pictures stop."""

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
        self.pass_listener: PassListener | None = None
        self.late_skipped = 0

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
        start_ns = now_ns() + int(START_LEAD_S * NS)  # the sound's decoder starts meanwhile
        offset_ns = 0  # media time played in earlier loops
        try:
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
                            if first is None:
                                first = t
                                if self.pass_listener is not None:
                                    self.pass_listener.play(start_ns + offset_ns, first)
                            last = t - first
                            due_ns = start_ns + offset_ns + int(round(last * NS))
                            decoded, reached = decoded + 1, t + 1.0 / float(self.frame_rate)
                            if now_ns() - due_ns > LATE_FRAMES * NS / float(self.frame_rate):
                                self.late_skipped += 1  # behind its time: dropped, as a camera would
                                continue
                            image = upright(vf.to_ndarray(format="rgb24"), self.rotation)
                            if (wait := due_ns - now_ns()) > 0:
                                time.sleep(wait / NS)
                            yield Frame(image=image, capture_ns=due_ns, index=index)
                            index += 1
                        check_complete(self.path, stream, decoded, reached)
                except av.FFmpegError as exc:
                    raise decode_error(self.path, exc) from None
                if not self.loop:
                    return
                offset_ns += int(round((last + 1.0 / float(self.frame_rate)) * NS))
        finally:  # ended, paused or closed: the sound stops with the pictures
            if self.pass_listener is not None:
                self.pass_listener.stop_playing()

    @property
    def dropped(self) -> int:
        return super().dropped + self.late_skipped
