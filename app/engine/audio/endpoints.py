"""Which sound device a stream opens: a PortAudio device, or a PulseAudio source/sink
reached through PortAudio's `pulse` device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.engine.audio import pulse
from app.engine.audio.alsa_quiet import route_alsa_messages
from app.engine.core.errors import BackdropError

Kind = Literal["input", "output"]
VIRTUAL_MIC_PREFIX = "backdrop_mic"


class AudioDeviceError(BackdropError):
    """A sound device is missing, busy or cannot be opened."""


@dataclass(frozen=True)
class Endpoint:
    """`device` is what sounddevice opens (None: the default); `pulse_name`, if set, is the
    PulseAudio source (input) or sink (output) that the `pulse` device is pointed at."""

    device: int | str | None
    pulse_name: str | None
    label: str
    kind: Kind = "input"

    @property
    def variable(self) -> str:
        """The environment variable that points the `pulse` device at `pulse_name`."""
        return "PULSE_SOURCE" if self.kind == "input" else "PULSE_SINK"


def _sounddevice():
    route_alsa_messages()  # before PortAudio looks through ALSA's devices
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"PortAudio is not available ({exc}); install libportaudio2") from None
    return sounddevice


def _pulse_device_name(sd) -> str:
    names = [d["name"] for d in sd.query_devices()]
    return "pulse" if "pulse" in names else "default"


def resolve(spec: str | int | None, kind: Kind) -> Endpoint:
    """Find the device `spec` names: None or 'default' (the system default), a PortAudio
    index, a PulseAudio source/sink name or part of its description, or part of a
    PortAudio device name. AudioDeviceError, naming `spec`, if none matches."""
    sd = _sounddevice()
    if spec is None or spec == "default":
        if kind == "input" and pulse.server_running():
            default = pulse.default_source()
            if default and default.startswith(VIRTUAL_MIC_PREFIX):
                raise AudioDeviceError(f"the default input is Backdrop's own microphone ({default}); "
                                       "choose the real microphone with --mic")
        return Endpoint(None, None, f"default {kind}", kind)
    if isinstance(spec, int) or str(spec).isdigit():
        index = int(spec)
        try:
            info = sd.query_devices(index, kind)
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(f"audio {kind} {spec}: {exc}") from None
        return Endpoint(index, None, f"[{index}] {info['name']}", kind)
    spec = str(spec)
    if pulse.server_running():
        found = pulse.find(pulse.sources() if kind == "input" else pulse.sinks(), spec)
        if found is not None:
            if kind == "input" and found.name.startswith(VIRTUAL_MIC_PREFIX):
                raise AudioDeviceError(f"{spec}: that is Backdrop's own microphone, not a real one")
            return Endpoint(_pulse_device_name(sd), found.name, f"{found.description} ({found.name})", kind)
    try:
        info = sd.query_devices(spec, kind)
    except ValueError as exc:
        raise AudioDeviceError(f"audio {kind} {spec!r} not found ({exc}); `backdrop devices` lists them") from None
    return Endpoint(info["index"], None, info["name"], kind)
