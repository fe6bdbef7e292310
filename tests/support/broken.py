"""Video files that open but break while playing, for the live source's error path."""

from __future__ import annotations

import random
from pathlib import Path

from support import media


def mp4_broken_midway(path: Path, frames: int = 60, size: tuple[int, int] = (160, 120)) -> Path:
    """An mp4 whose header reads but whose middle is noise: the first frames decode, then
    the decoder fails (InvalidDataError)."""
    media.make_video(path, frames=frames, size=size, audio=False)
    data = bytearray(path.read_bytes())
    noise = random.Random(1)
    for i in range(int(len(data) * 0.3), int(len(data) * 0.7)):
        data[i] = noise.randrange(256)
    path.write_bytes(bytes(data))
    return path
