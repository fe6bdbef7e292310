"""The virtual camera that OBS, Zoom, Meet and Teams pick: pyvirtualcam (v4l2loopback on
Linux, OBS Virtual Camera on Windows and macOS)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import OutputError
from app.engine.core.frame import Frame
from app.engine.outputs.null_camera import register

MODPROBE_COMMAND = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop"
PERSIST_HINT = ('to keep it after a reboot: echo v4l2loopback | sudo tee /etc/modules-load.d/backdrop.conf; '
                'echo "options v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop" '
                '| sudo tee /etc/modprobe.d/backdrop.conf')


def virtual_camera_hint(one_line: bool = False) -> str:
    """What to run to create a virtual camera on this OS."""
    if sys.platform.startswith("linux"):
        return f"create one with: {MODPROBE_COMMAND}" + ("; " if one_line else "\n  ") + PERSIST_HINT
    return "install OBS Studio and start its Virtual Camera once; Backdrop then uses it"


class VirtualCameraOutput:
    """Sends each picture as I420 (YUV 4:2:0, converted once here with OpenCV), the format
    v4l2loopback passes to readers without another conversion. RGBA is flattened on black,
    grey mattes become grey pictures. `keeps_alive`: the live path re-sends the last picture
    when no new one is due, so readers never see the camera freeze or vanish."""

    keeps_alive = True

    def __init__(self, size: tuple[int, int], fps: float, device: str | None = None,
                 backend: str | None = None) -> None:
        """`backend`: a pyvirtualcam backend name, None for the platform's, or "null" for
        the stand-in that only records what it was sent (no device needed)."""
        import pyvirtualcam

        if backend == "null":
            backend = register()
        self.size, self.fps = (size[0] + size[0] % 2, size[1] + size[1] % 2), fps  # I420 takes even sizes only
        size = self.size
        try:
            self._camera = pyvirtualcam.Camera(size[0], size[1], fps, fmt=pyvirtualcam.PixelFormat.I420,
                                               device=device, backend=backend)
        except (RuntimeError, ValueError, OSError) as exc:
            reason = " ".join(str(exc).split()).replace("'v4l2loopback' backend: ", "")
            name = f"virtual camera {device}" if device else "virtual camera"
            hint = virtual_camera_hint(one_line=True)
            raise OutputError(f"{name}: {reason} {hint[0].upper()}{hint[1:]}") from None
        self.device: str = self._camera.device
        self.label = f"virtual camera {self.device}"  # what errors call it
        self.frames_sent = 0

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)  # a reader cannot use alpha
        h, w = image.shape[:2]
        if (w, h) != self.size:
            pad_w, pad_h = self.size[0] - w, self.size[1] - h
            if pad_w in (0, 1) and pad_h in (0, 1):  # an odd camera: repeat its last column/row
                image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
            else:
                image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
        self._camera.send(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420))
        self.frames_sent += 1

    def readers(self) -> int | None:
        """How many other processes have the device open (Linux); None where unknown."""
        return count_readers(Path(self.device)) if os.name == "posix" else None

    def close(self) -> None:
        camera, self._camera = getattr(self, "_camera", None), None
        if camera is not None:
            camera.close()

    def abort(self) -> None:
        self.close()


def count_readers(device: Path, proc: Path = Path("/proc")) -> int | None:
    """Processes other than this one holding `device` open, from /proc/*/fd; None if /proc
    cannot tell (not Linux)."""
    if not proc.is_dir():
        return None
    try:
        target = device.resolve()
    except OSError:
        return None
    me, count = os.getpid(), 0
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == me:
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) == str(target):
                    count += 1
                    break
        except OSError:
            continue  # gone, or not ours to look at
    return count
