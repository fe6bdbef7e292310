"""The virtual microphone: a PulseAudio/PipeWire device ("Backdrop Microphone") that OBS,
Zoom or a browser can pick, created on `open()` and removed on `close()`; the system's
default devices stay what they were. See docs/audio.md.
"""

from __future__ import annotations

import logging
import os

from app.engine.audio import pulse
from app.engine.audio.endpoints import Endpoint, _pulse_device_name, _sounddevice
from app.engine.core.processes import process_running

log = logging.getLogger("backdrop.audio")

SINK_NAME = "backdrop_mic"
SOURCE_NAME = "backdrop_mic_source"
DESCRIPTION = "Backdrop Microphone"
OWNER_KEY = "backdrop.pid"


class InUseError(pulse.PulseError):
    """Another running Backdrop owns the device pair (nothing to install or start)."""


class VirtualMicrophone:
    """Creates the device pair on `open()`; `output` is where to play, `source` what apps pick.

    `name` (default "backdrop_mic") lets tests make their own pair beside a running one.
    Raises pulse.PulseError (with the reason) when there is no sound server to create it in,
    or when another running Backdrop owns a pair of that name.
    """

    def __init__(self, name: str = SINK_NAME, description: str = DESCRIPTION, rate: int = 48000,
                 channels: int = 1) -> None:
        self.sink = name
        self.source = SOURCE_NAME if name == SINK_NAME else f"{name}_source"
        self.description, self.rate, self.channels = description, int(rate), int(channels)
        self._modules: list[int] = []

    @property
    def is_open(self) -> bool:
        return bool(self._modules)

    @property
    def output(self) -> Endpoint:
        """Where AudioPlayer plays to reach the virtual microphone."""
        return Endpoint(_pulse_device_name(_sounddevice()), self.sink, f"{self.description} ({self.sink})", "output")

    def _ours(self) -> list[tuple[int, str, str]]:
        return [m for m in pulse.modules()
                if f"sink_name={self.sink} " in m[2] + " " or f"source_name={self.source} " in m[2] + " "]

    def open(self) -> "VirtualMicrophone":
        if self._modules:
            return self
        channel_map = "mono" if self.channels == 1 else "front-left,front-right"
        self._remove_leftovers()
        defaults = pulse.default_source(), pulse.default_sink()
        props = f"device.description='{self.description}' {OWNER_KEY}={os.getpid()}"
        sink = pulse.load_module(
            "module-null-sink", f"sink_name={self.sink}", f"rate={self.rate}", f"channels={self.channels}",
            f"channel_map={channel_map}",
            f'sink_properties="{props}"')
        self._modules.append(sink)
        try:
            source = pulse.load_module(
                "module-remap-source", f"source_name={self.source}", f"master={self.sink}.monitor",
                f"channels={self.channels}", f"channel_map={channel_map}",
                f'source_properties="{props} device.class=sound"')
        except pulse.PulseError:
            self.close()
            raise
        self._modules.append(source)
        self._keep_defaults(*defaults)
        log.info("audio: virtual microphone %r ready (apps pick %r)", self.description, self.source)
        return self

    def _remove_leftovers(self) -> None:
        """Unload a pair left by a Backdrop that did not close (killed); InUseError if its
        process still runs. Unloading the null sink takes its remap source with it, so each
        module is unloaded only while it is still there."""
        leftovers = self._ours()
        for _, _, args in leftovers:
            owner = next((part.split("=", 1)[1].strip("\"'") for part in args.replace('"', " ").split()
                          if part.startswith(OWNER_KEY + "=")), "")
            if owner.isdigit() and int(owner) != os.getpid() and process_running(int(owner)):
                raise InUseError(f"{self.description} is in use by another Backdrop (process {owner})")
        if leftovers:
            log.info("audio: removing a %s left over from an earlier run", self.description)
        for index, _, _ in leftovers:
            if any(m[0] == index for m in self._ours()):
                pulse.unload_module(index)

    def _keep_defaults(self, source: str | None, sink: str | None) -> None:
        """Give the default source/sink back to the devices that had them before `open()`."""
        try:  # a default that went away meanwhile (PulseAudio's placeholder sink does) is not brought back
            if source and pulse.default_source() in (self.source, f"{self.sink}.monitor") \
                    and any(d.name == source for d in pulse.sources()):
                pulse.set_default_source(source)
            if sink and pulse.default_sink() == self.sink and any(d.name == sink for d in pulse.sinks()):
                pulse.set_default_sink(sink)
        except pulse.PulseError as exc:
            log.warning("audio: could not keep the default microphone (%s)", exc)

    def close(self) -> None:
        """Remove the device pair; safe to call twice."""
        modules, self._modules = self._modules, []
        for index in reversed(modules):
            try:
                pulse.unload_module(index)
            except pulse.PulseError as exc:
                log.warning("audio: could not remove the virtual microphone (%s)", exc)

    def __enter__(self) -> "VirtualMicrophone":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
