"""Where frames come from: camera, video file, folder of images, photos, demo."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from app.engine.imaging.images import IMAGE_EXTENSIONS
from app.engine.sources.base import LiveSource, Source
from app.engine.sources.camera import CameraSource
from app.engine.sources.demo import DemoSource, LiveDemoSource
from app.engine.sources.images import ImageSequenceSource, list_images
from app.engine.sources.realtime_file import RealtimeFileSource
from app.engine.sources.video_file import VideoFileSource

__all__ = ["CameraSource", "DemoSource", "ImageSequenceSource", "LiveDemoSource", "RealtimeFileSource",
           "LiveSource", "Source", "VideoFileSource", "list_images", "open_live_source", "open_source"]


def parse_camera(spec: str) -> int | str | None:
    """`camera`, `camera:N`, `/dev/videoN` or a bare index as a device; None otherwise."""
    if spec == "camera":
        return 0
    m = re.fullmatch(r"camera:(\S+)", spec)
    if m:
        value = m.group(1)
        return int(value) if value.isdigit() else value
    if spec.startswith("/dev/video"):
        return spec
    return None


def open_source(spec: str, *, size: tuple[int, int] = (1280, 720), fps: float = 30.0,
                duration: float = 10.0) -> Source:
    """A source from a command-line INPUT: `demo`, `camera[:N]`, a folder of images, an
    image file, or a video file. `size`/`fps`/`duration` apply to camera and demo."""
    if spec == "demo":
        return DemoSource(size=size, frame_rate=Fraction(fps).limit_denominator(1001), duration=duration)
    device = parse_camera(spec)
    if device is not None:
        return CameraSource(device, size=size, fps=fps)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageSequenceSource.from_folder(path, Fraction(fps).limit_denominator(1001))
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageSequenceSource([path], name=path.stem)
    return VideoFileSource(path)


def open_live_source(spec: str, *, size: tuple[int, int] = (1280, 720), fps: float = 30.0,
                     loop: bool = False) -> LiveSource:
    """A real-time source for live mode: a camera index or /dev/video path, `demo`, or a
    video file played at its own pace (looping with `loop`)."""
    if spec == "demo":
        return LiveDemoSource(size=size, frame_rate=Fraction(fps).limit_denominator(1001))
    device = int(spec) if spec.isdigit() else parse_camera(spec)
    if device is not None:
        return CameraSource(device, size=size, fps=fps)
    return RealtimeFileSource(Path(spec).expanduser(), loop=loop)
