"""PulseAudio (or PipeWire's pulse server) through `pactl`: modules, sources and sinks;
`pulse_target` points a stream at one source or sink, safely across threads.
See docs/audio.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.engine.core.errors import BackdropError

_ENV_LOCK = threading.Lock()


class PulseError(BackdropError):
    """pactl is missing, the server is not running, or it refused a command."""


@dataclass(frozen=True)
class PulseDevice:
    name: str
    description: str
    monitor: bool = False


def pactl(*args: str, timeout: float = 5.0) -> str:
    """Run pactl; its stdout, or PulseError with its message."""
    exe = shutil.which("pactl")
    if exe is None:
        raise PulseError("pactl not found (install pulseaudio-utils, or pipewire-pulse)")
    with _ENV_LOCK:  # a copy taken while no stream is being pointed somewhere (see pulse_target)
        env = dict(os.environ)
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise PulseError(f"pactl {' '.join(args)}: no answer in {timeout:.0f} s") from None
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise PulseError(f"pactl {' '.join(args)}: {msg[-1] if msg else f'exit status {proc.returncode}'}")
    return proc.stdout


def server_running() -> bool:
    """True when a PulseAudio-compatible server answers."""
    try:
        pactl("info", timeout=3.0)
        return True
    except PulseError:
        return False


def load_module(name: str, *args: str) -> int:
    """Load a module; its index."""
    out = pactl("load-module", name, *args).strip()
    try:
        return int(out.splitlines()[-1])
    except (ValueError, IndexError):
        raise PulseError(f"pactl load-module {name}: unexpected answer {out!r}") from None


def unload_module(index: int) -> None:
    pactl("unload-module", str(index))


def modules() -> list[tuple[int, str, str]]:
    """(index, name, arguments) of every loaded module."""
    found = []
    for line in pactl("list", "short", "modules").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().isdigit():
            found.append((int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
    return found


def _devices(kind: str) -> list[PulseDevice]:
    found: list[PulseDevice] = []
    name = None
    for raw in pactl("list", kind).splitlines():
        line = raw.strip()
        if line.startswith("Name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Description:") and name is not None:
            desc = line.split(":", 1)[1].strip()
            found.append(PulseDevice(name, desc, name.endswith(".monitor")))
            name = None
    return found


def sources() -> list[PulseDevice]:
    return _devices("sources")


def sinks() -> list[PulseDevice]:
    return _devices("sinks")


def _default(kind: str) -> str | None:
    for line in pactl("info").splitlines():
        if line.startswith(f"Default {kind}:"):
            return line.split(":", 1)[1].strip() or None
    return None


def default_source() -> str | None:
    return _default("Source")


def default_sink() -> str | None:
    return _default("Sink")


def set_default_source(name: str) -> None:
    pactl("set-default-source", name)


def set_default_sink(name: str) -> None:
    pactl("set-default-sink", name)


def find(devices: list[PulseDevice], spec: str) -> PulseDevice | None:
    """The device named `spec`, else the one whose description contains it (case-insensitive)."""
    for d in devices:
        if d.name == spec:
            return d
    hits = [d for d in devices if spec.lower() in d.description.lower() and not d.monitor]
    return hits[0] if len(hits) == 1 else None


@contextmanager
def pulse_target(variable: str, name: str | None) -> Iterator[None]:
    """Within the block, streams opened through PortAudio's `pulse` device use `name` as
    their source (variable PULSE_SOURCE) or sink (PULSE_SINK)."""
    if name is None:
        yield
        return
    with _ENV_LOCK:
        old = os.environ.get(variable)
        os.environ[variable] = name
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = old
