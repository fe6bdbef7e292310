"""Opening media files with PyAV, with errors that name the file and the reason."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from app.engine.core.errors import InputError

# counter-clockwise turns (degrees) that put a picture upright, as OpenCV's rotations
_TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def open_video_input(path: Path) -> "av.container.InputContainer":
    """Open `path` for reading; it must have a video stream. Raises InputError otherwise."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video file")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable video ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    return container


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '", 1)[0].strip() or type(exc).__name__


def decode_error(path: Path, exc: BaseException) -> InputError:
    """An InputError for a file that broke while decoding (truncated or corrupt)."""
    return InputError(f"{path}: cannot be decoded ({_reason(exc)}); the file may be truncated or corrupt")


def declared_end(stream: "av.video.stream.VideoStream") -> float | None:
    """Where the container says the video stream ends (seconds), if it says."""
    if stream.duration is not None and stream.time_base is not None:
        start = stream.start_time or 0
        return float((start + stream.duration) * stream.time_base)
    text = (stream.metadata or {}).get("DURATION")  # Matroska writes it per track
    if text:
        try:
            h, m, sec = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            return None
    return None


def check_complete(path: Path, stream: "av.video.stream.VideoStream", decoded: int,
                   reached_s: float | None) -> None:
    """InputError naming `path` when a decode that ended without an error stopped short: fewer
    frames than the stream declares or, when it declares no count, a video that stops (at
    `reached_s`, the end of its last decoded frame) well before the end it declares."""
    declared = stream.frames
    if declared and decoded < declared:
        raise InputError(f"{path}: truncated or corrupt: only {decoded} of its {declared} frames could be decoded")
    end = declared_end(stream)
    rate = stream.average_rate or stream.guessed_rate or 30
    period = 1.0 / float(rate)
    if not declared and end is not None and reached_s is not None and reached_s < end - 2 * period:
        raise InputError(f"{path}: truncated or corrupt: its video stops at {reached_s:.2f} s "
                         f"of the {end:.2f} s it declares")


def display_rotation(path: Path) -> int:
    """The counter-clockwise turn (0, 90, 180 or 270 degrees) that shows `path`'s first video
    stream upright, as phones record it: the display matrix its first frame carries or, if
    none, an old-style "rotate" tag (clockwise degrees). Angles that are not a multiple of 90
    and files that cannot be read give 0 (decoding them later reports the error)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            degrees = 0.0
            for vf in container.decode(stream):
                degrees = vf.rotation
                break
            if not degrees:
                tags = {key.lower(): value for key, value in (stream.metadata or {}).items()}
                degrees = -float(tags.get("rotate") or 0)
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return 0
    quarter = round(degrees / 90)
    return quarter % 4 * 90 if abs(degrees - quarter * 90) < 1 else 0


def upright_size(size: tuple[int, int], rotation: int) -> tuple[int, int]:
    """The (width, height) of a `size` picture once turned by `rotation` degrees."""
    return (size[1], size[0]) if rotation in (90, 270) else size


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """`image` turned counter-clockwise by `rotation` (0, 90, 180, 270) degrees; a new
    contiguous array, or `image` itself for 0."""
    code = _TURNS.get(rotation)
    return image if code is None else cv2.rotate(image, code)
