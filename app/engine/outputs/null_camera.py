"""A pyvirtualcam backend that stands in for the v4l2loopback device where none can exist
(tests, benchmarks, CI, and rehearsals without the kernel module). It checks every frame the
way the real backend's boundary does and keeps what was sent, so a test can see exactly what
an app reading the virtual camera would have received."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

BACKEND_NAME = "backdrop-null"


@dataclass
class SentLog:
    """What the null backend received: the format, each send time, and the last frames."""

    width: int = 0
    height: int = 0
    fps: float = 0.0
    fourcc: int = 0
    device: str = ""
    frames: int = 0
    keep_last: int = 4
    last: list[np.ndarray] = field(default_factory=list)
    closed: bool = False


class NullCameraBackend:
    """pyvirtualcam backend protocol: __init__(width, height, fps, fourcc, device), send,
    close, device, native_fourcc. `log` is shared across instances for inspection."""

    log = SentLog()
    lock = threading.Lock()

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: object) -> None:
        with self.lock:
            NullCameraBackend.log = SentLog(width, height, fps, fourcc, device or "/dev/null")
        self._device = device or "/dev/null"

    def send(self, frame: np.ndarray) -> None:
        with self.lock:
            log = NullCameraBackend.log
            log.frames += 1
            log.last.append(frame.copy())
            del log.last[:-log.keep_last]

    def close(self) -> None:
        with self.lock:
            NullCameraBackend.log.closed = True

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return NullCameraBackend.log.fourcc


def register() -> str:
    """Register the backend with pyvirtualcam (idempotent); returns its name."""
    import pyvirtualcam

    pyvirtualcam.register_backend(BACKEND_NAME, NullCameraBackend)
    return BACKEND_NAME
