"""What the machine offers: cameras, audio devices, and whether a virtual camera exists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.engine.audio import pulse
from app.engine.audio.alsa_quiet import route_alsa_messages
from app.engine.audio.endpoints import VIRTUAL_MIC_PREFIX
from app.engine.outputs.virtual_camera import (
    MODPROBE_COMMAND,
    PERSIST_HINT,
    virtual_camera_hint,
)

__all__ = ["MODPROBE_COMMAND", "PERSIST_HINT", "virtual_camera_hint", "video_devices", "audio_devices", "microphones"]

V4L2_SYSFS = Path("/sys/class/video4linux")


@dataclass(frozen=True)
class VideoDevice:
    path: str
    name: str
    loopback: bool


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def video_devices(sysfs: Path = V4L2_SYSFS) -> list[VideoDevice]:
    """V4L2 devices (Linux), with loopback (virtual camera) devices marked."""
    if not sysfs.is_dir():
        return []
    found = []
    for entry in sorted(sysfs.iterdir(), key=lambda p: int("".join(c for c in p.name if c.isdigit()) or 0)):
        name_file = entry / "name"
        name = name_file.read_text().strip() if name_file.is_file() else entry.name
        driver = (entry / "device" / "driver").resolve().name if (entry / "device" / "driver").exists() else ""
        loopback = "v4l2loopback" in driver or "loopback" in name.lower() or name == "Backdrop"
        found.append(VideoDevice(f"/dev/{entry.name}", name, loopback))
    return found


def audio_devices() -> tuple[list[AudioDevice], str | None]:
    """Audio devices from PortAudio, or an empty list and the reason none could be listed."""
    route_alsa_messages()
    try:
        import sounddevice
        devices = sounddevice.query_devices()
    except (OSError, ImportError) as exc:
        return [], f"audio devices cannot be listed ({exc})"
    return [AudioDevice(i, d["name"], d["max_input_channels"], d["max_output_channels"], d["default_samplerate"])
            for i, d in enumerate(devices)], None


def microphones() -> list[tuple[str, str]]:
    """(spec, label) of each microphone a user can pick: PulseAudio/PipeWire sources (not
    monitors, not Backdrop's own) when a sound server runs, else PortAudio inputs."""
    if pulse.server_running():
        try:
            return [(d.name, d.description) for d in pulse.sources()
                    if not d.monitor and not d.name.startswith(VIRTUAL_MIC_PREFIX)]
        except pulse.PulseError:
            pass
    devices, _ = audio_devices()
    return [(str(d.index), d.name) for d in devices if d.inputs > 0]
