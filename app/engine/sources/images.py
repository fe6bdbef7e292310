"""Still images as sources: a folder of frames played as a sequence, or single photos."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from app.engine.core.errors import InputError
from app.engine.core.frame import Frame, now_ns
from app.engine.imaging.images import IMAGE_EXTENSIONS, load_image_rgb


def natural_key(path: Path) -> list:
    """Sort key that puts frame2 before frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, in natural order; InputError if there are none."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    images = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                    key=natural_key)
    if not images:
        raise InputError(f"{folder}: folder has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return images


class ImageSequenceSource:
    """Images played in order as frames at `frame_rate`, one frame per file, none dropped.
    Every image must have the first one's size: InputError naming the one that differs."""

    live = False
    dropped = 0
    audio_path: Path | None = None

    def __init__(self, paths: list[Path], frame_rate: Fraction = Fraction(30), name: str | None = None) -> None:
        if not paths:
            raise InputError("no images given")
        self.paths = paths
        self.frame_rate = frame_rate
        self.name = name or paths[0].parent.name
        self.expected_frames: int | None = len(paths)

    @classmethod
    def from_folder(cls, folder: Path, frame_rate: Fraction = Fraction(30)) -> "ImageSequenceSource":
        return cls(list_images(folder), frame_rate, name=folder.name)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the first image (what the model choice is made for)."""
        h, w = load_image_rgb(self.paths[0]).shape[:2]
        return w, h

    def __iter__(self) -> Iterator[Frame]:
        time_base = 1 / self.frame_rate
        first: tuple[int, int] | None = None
        for index, path in enumerate(self.paths):
            image = load_image_rgb(path)
            size = (image.shape[1], image.shape[0])
            first = first or size
            if size != first:
                raise InputError(f"{path}: is {size[0]}x{size[1]}, not {first[0]}x{first[1]} like "
                                 f"{self.paths[0].name}; every frame of a sequence must be the same size")
            yield Frame(image=image, capture_ns=now_ns(), index=index, pts=index, time_base=time_base)

    def close(self) -> None:
        pass
