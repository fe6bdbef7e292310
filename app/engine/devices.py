"""What the machine offers: cameras, audio devices, and whether a virtual camera exists."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

V4L2_SYSFS = Path("/sys/class/video4linux")
MODPROBE_COMMAND = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop"
PERSIST_HINT = ('to keep it after a reboot: echo v4l2loopback | sudo tee /etc/modules-load.d/backdrop.conf; '
                'echo "options v4l2loopback devices=1 exclusive_caps=1 card_label=Backdrop" '
                '| sudo tee /etc/modprobe.d/backdrop.conf')


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
    try:
        import sounddevice
        devices = sounddevice.query_devices()
    except (OSError, ImportError) as exc:
        return [], f"audio devices cannot be listed ({exc})"
    return [AudioDevice(i, d["name"], d["max_input_channels"], d["max_output_channels"], d["default_samplerate"])
            for i, d in enumerate(devices)], None


def virtual_camera_hint(one_line: bool = False) -> str:
    """What to run to create a virtual camera on this OS."""
    if sys.platform.startswith("linux"):
        return f"create one with: {MODPROBE_COMMAND}" + ("; " if one_line else "\n  ") + PERSIST_HINT
    return "install OBS Studio and start its Virtual Camera once; Backdrop then uses it"


def microphones() -> list[tuple[str, str]]:
    """(spec, label) of each microphone a user can pick: PulseAudio/PipeWire sources (not
    monitors, not Backdrop's own) when a sound server runs, else PortAudio inputs."""
    from app.engine.audio import pulse
    from app.engine.audio.endpoints import VIRTUAL_MIC_PREFIX

    if pulse.server_running():
        try:
            return [(d.name, d.description) for d in pulse.sources()
                    if not d.monitor and not d.name.startswith(VIRTUAL_MIC_PREFIX)]
        except pulse.PulseError:
            pass
    devices, _ = audio_devices()
    return [(str(d.index), d.name) for d in devices if d.inputs > 0]
