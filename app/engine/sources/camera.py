"""A webcam through OpenCV, read in its own thread, newest frame only."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from fractions import Fraction

import cv2

from app.engine.core.errors import InputError
from app.engine.core.frame import Frame, now_ns
from app.engine.sources.base import LiveSource, SourceLost

cv2.setLogLevel(2)  # errors only (LOG_LEVEL_ERROR): ours say what went wrong in one line

MAX_FAILED_READS = 20  # about 0.2 s without a frame: the camera is gone


def camera_label(device: int | str) -> str:
    return f"camera {device}"


class CameraSource(LiveSource):
    """Opens `device` (an index or a /dev/video path) asking for `size`, `fps` and MJPG, with
    the driver's buffer kept at one frame so what we read is what the camera sees now.
    A camera that stops delivering (unplugged) is reopened until it is back."""

    def __init__(self, device: int | str = 0, size: tuple[int, int] = (1280, 720), fps: float = 30.0) -> None:
        super().__init__(f"camera{device}".replace("/", "_"), Fraction(fps).limit_denominator(1001))
        self.device, self.requested_size, self.requested_fps = device, size, fps
        self._cap: cv2.VideoCapture | None = None
        try:
            self._open()
        except SourceLost:
            raise InputError(f"{camera_label(device)}: cannot be opened (no such device, or it is busy)") from None
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        actual_fps = self._cap.get(cv2.CAP_PROP_FPS)
        if actual_fps and actual_fps > 0:
            self.frame_rate = Fraction(actual_fps).limit_denominator(1001)

    def _open(self) -> None:
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = cv2.VideoCapture(self.device, backend)
        if not cap.isOpened():
            cap.release()
            raise SourceLost(f"{camera_label(self.device)}: not available")
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested_size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested_size[1])
        cap.set(cv2.CAP_PROP_FPS, self.requested_fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def _capture(self) -> Iterator[Frame]:
        index, failures = 0, 0
        while not self._stop.is_set():
            if self._cap is None:
                raise SourceLost(camera_label(self.device))
            ok, bgr = self._cap.read()
            if not ok:
                failures += 1
                if failures >= MAX_FAILED_READS:
                    raise SourceLost(f"{camera_label(self.device)}: stopped delivering frames")
                time.sleep(0.01)
                continue
            failures = 0
            yield Frame(image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), capture_ns=now_ns(), index=index)
            index += 1

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
