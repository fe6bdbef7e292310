"""A video file as a source: every frame, with its own timestamps; its audio stays in the file
for the outputs to carry over."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from app.engine.core.frame import Frame, now_ns
from app.engine.imaging.media import (
    check_complete,
    decode_error,
    display_rotation,
    open_video_input,
    upright,
    upright_size,
)


class VideoFileSource:
    """Decodes a video file frame by frame (PyAV), dropping nothing.

    Frames keep the stream's pts and time_base, so variable frame rate and streams that do
    not start at zero come out with the same timing. Frames come upright: a display rotation
    (a phone's portrait clip) is applied, and `size` is the upright size.
    """

    live = False
    dropped = 0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._container = open_video_input(path)
        stream = self._container.streams.video[0]
        self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
        self.frame_rate: Fraction = Fraction(stream.average_rate or stream.guessed_rate or 30)
        self.audio_path: Path | None = path if self._container.streams.audio else None
        self.rotation = display_rotation(path)  # counter-clockwise degrees applied to each frame
        self.size = upright_size((stream.codec_context.width, stream.codec_context.height), self.rotation)
        frames = stream.frames
        if not frames and stream.duration is not None:
            frames = round(float(stream.duration * self.time_base) * float(self.frame_rate))
        elif not frames and self._container.duration:
            frames = round(self._container.duration / av.time_base * float(self.frame_rate))
        self.expected_frames: int | None = frames or None

    def __iter__(self) -> Iterator[Frame]:
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        index = 0
        last_pts = None
        try:
            for vf in self._container.decode(stream):
                pts = vf.pts if vf.pts is not None else (last_pts + 1 if last_pts is not None else 0)
                last_pts = pts
                image = upright(vf.to_ndarray(format="rgb24"), self.rotation)
                yield Frame(image=image, capture_ns=now_ns(), index=index, pts=pts, time_base=self.time_base)
                index += 1
        except av.FFmpegError as exc:
            raise decode_error(self.path, exc) from None
        reached = None if last_pts is None else float(last_pts * self.time_base) + 1.0 / float(self.frame_rate)
        check_complete(self.path, stream, index, reached)

    def close(self) -> None:
        """Close the file; safe to call twice."""
        self._container.close()
