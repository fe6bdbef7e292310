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


NOT_READ = {  # what is said of a file in a folder of photos that is not read
    ".gif": "GIF is not read (often animated, at most 256 colours): convert it to PNG",
    ".svg": "a vector drawing, not a photo: export it as PNG",
    ".pdf": "a document, not an image",
    **dict.fromkeys((".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf"),
                    "a camera raw file is not read: export it as JPEG or TIFF"),
    **dict.fromkeys((".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"),
                    "a video, not a photo (`backdrop process` takes videos)"),
}


def not_read_reason(path: Path) -> str | None:
    """Why the file `path` is not read as a photo (one phrase), or None if it is an image
    by its extension."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return None
    return NOT_READ.get(suffix) or f"not an image ({', '.join(sorted(IMAGE_EXTENSIONS))})"


def scan_folder(folder: Path) -> tuple[list[Path], list[str]]:
    """The image files directly inside `folder` (natural order), and one line "PATH: reason"
    for every other entry there that is not read: other files (GIF, text, unknown
    extensions), and folders (not searched). Hidden entries (".name") are left out
    silently. With no images, the last line says "FOLDER: folder has no images (...)";
    InputError if `folder` is not a folder or cannot be listed."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    images: list[Path] = []
    skipped: list[str] = []
    try:
        entries = sorted(folder.iterdir(), key=natural_key)
    except OSError as exc:
        raise InputError(f"{folder}: folder cannot be read ({exc.strerror or exc})") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            skipped.append(f"{entry}: a folder (folders inside are not searched)")
        elif not entry.is_file():
            skipped.append(f"{entry}: " + ("a link to nothing" if entry.is_symlink() else "not a regular file"))
        elif (reason := not_read_reason(entry)) is not None:
            skipped.append(f"{entry}: {reason}")
        else:
            images.append(entry)
    if not images:
        skipped.append(f"{folder}: folder has no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return images, skipped


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
