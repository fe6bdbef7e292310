"""A demo source that needs no camera and no download: a real photo of a person that an
installed package ships (Grace Hopper, in matplotlib's sample data, which mediapipe pulls
in), framed like a webcam and swaying gently so the effect shows."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import InputError
from app.engine.core.frame import Frame, now_ns
from app.engine.imaging.images import load_image_rgb
from app.engine.sources.base import LiveSource

MARGIN = 0.08  # share of the frame the picture may drift by


def demo_photo_path() -> Path:
    """Path of the shipped portrait photo."""
    try:
        from matplotlib import cbook

        return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except Exception as exc:  # matplotlib missing or built without sample data
        raise InputError(f"demo photo: not found in matplotlib's sample data ({exc})") from None


def demo_canvas(size: tuple[int, int]) -> np.ndarray:
    """The photo at full height in a frame of `size` enlarged by MARGIN; the sides are filled
    with its own backdrop (the top corners, stretched and blurred), like an out-of-focus room."""
    w, h = size
    cw, ch = round(w * (1 + MARGIN)), round(h * (1 + MARGIN))
    photo = load_image_rgb(demo_photo_path())
    ph, pw = photo.shape[:2]
    pw2 = min(cw, round(pw * ch / ph))
    photo = cv2.resize(photo, (pw2, ch), interpolation=cv2.INTER_AREA if ch < ph else cv2.INTER_CUBIC)
    canvas = np.empty((ch, cw, 3), np.uint8)
    left = (cw - pw2) // 2
    corner_h, corner_w = ch * 2 // 5, max(1, pw2 // 8)
    for x0, x1, corner in ((0, left, photo[:corner_h, :corner_w]),
                           (left + pw2, cw, photo[:corner_h, pw2 - corner_w:])):
        if x1 > x0:
            side = cv2.resize(corner, (x1 - x0, ch), interpolation=cv2.INTER_LINEAR)
            canvas[:, x0:x1] = cv2.GaussianBlur(side, (0, 0), sigmaX=ch / 40)
    canvas[:, left:left + pw2] = photo
    return canvas


def demo_frame(canvas: np.ndarray, size: tuple[int, int], seconds: float) -> np.ndarray:
    """The view of `canvas` at `seconds`: a slow drift on a Lissajous path."""
    w, h = size
    spare_x, spare_y = canvas.shape[1] - w, canvas.shape[0] - h
    x = round(spare_x * (0.5 + 0.5 * math.sin(2 * math.pi * seconds / 5.0)))
    y = round(spare_y * (0.5 + 0.5 * math.sin(2 * math.pi * seconds / 7.0 + 1.0)))
    return np.ascontiguousarray(canvas[y:y + h, x:x + w])


def demo_frames(size: tuple[int, int], count: int, fps: float = 30.0) -> list[np.ndarray]:
    """The first `count` frames of the swaying portrait at `size` (for making test clips)."""
    canvas = demo_canvas(size)
    return [demo_frame(canvas, size, i / fps) for i in range(count)]


class DemoSource:
    """`duration` seconds of the swaying portrait at `frame_rate`, as a file-like source
    (every frame, as fast as the consumer takes them)."""

    live = False
    dropped = 0
    audio_path: Path | None = None

    def __init__(self, size: tuple[int, int] = (1280, 720), frame_rate: Fraction = Fraction(30),
                 duration: float = 10.0) -> None:
        self.name, self.size, self.frame_rate = "demo", size, frame_rate
        self.expected_frames: int | None = max(1, round(duration * float(frame_rate)))
        self._canvas = demo_canvas(size)

    def __iter__(self) -> Iterator[Frame]:
        time_base = 1 / self.frame_rate
        for index in range(self.expected_frames or 0):
            image = demo_frame(self._canvas, self.size, float(index * time_base))
            yield Frame(image=image, capture_ns=now_ns(), index=index, pts=index, time_base=time_base)

    def close(self) -> None:
        pass


class LiveDemoSource(LiveSource):
    """The swaying portrait delivered in real time like a webcam (newest frame only)."""

    def __init__(self, size: tuple[int, int] = (1280, 720), frame_rate: Fraction = Fraction(30)) -> None:
        super().__init__("demo", frame_rate)
        self.size = size
        self._canvas = demo_canvas(size)

    def _capture(self) -> Iterator[Frame]:
        period_ns = round(1e9 / float(self.frame_rate))
        start = now_ns()
        index = 0
        while not self._stop.is_set():
            due = start + index * period_ns
            delay = (due - now_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)
            image = demo_frame(self._canvas, self.size, index * period_ns / 1e9)
            yield Frame(image=image, capture_ns=now_ns(), index=index)
            index += 1
