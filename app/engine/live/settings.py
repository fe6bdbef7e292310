"""Everything a user sets for live mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.compositing.effects import CompositeSettings
from app.engine.matting.presets import MatteSettings


@dataclass
class LiveSettings:
    """Everything a user sets for live mode. `camera`: an index, /dev/videoN, `demo`, or a
    video file (played in a loop). `mic`: "none", "default" or a device (see `backdrop
    devices`); its sound goes to the virtual microphone (`virtual_mic`), delayed by the video
    latency plus `av_offset_ms`, and into recordings and streams."""

    camera: str = "0"
    size: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    model: str | None = None  # None: the matte preset's choice for the camera's shape
    background: str = "blur"
    fit: str = "cover"
    matte: MatteSettings = field(default_factory=MatteSettings)
    effects: CompositeSettings = field(default_factory=CompositeSettings)
    virtual_camera: bool = True
    vcam_device: str | None = None
    vcam_backend: str | None = None
    keep_camera_on: bool = False
    mic: str = "none"
    virtual_mic: bool = True
    av_offset_ms: float = 0.0
