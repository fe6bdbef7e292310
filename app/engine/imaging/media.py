"""Opening media files with PyAV, with errors that name the file and the reason."""

from __future__ import annotations

from pathlib import Path

import av

from app.engine.core.errors import InputError


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
