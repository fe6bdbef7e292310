"""A real PulseAudio server for the audio tests: started if none runs, null sinks loaded per
test session under names of their own (other test runs may share the server), everything
unloaded afterwards. Players and recorders here are test equipment: large buffers, so a
busy machine does not make them drop samples; all timing is read from sample positions in
one recording, never from the wall clock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.engine.audio import pulse
from app.engine.audio.pulse import pulse_target

RATE = 48000


def sound_server_available() -> bool:
    """A PulseAudio-compatible server answers (PipeWire's pipewire-pulse on a desktop), or
    pulseaudio is installed to start one (install.sh installs it where PipeWire is absent)."""
    return shutil.which("pactl") is not None and (pulse.server_running() or shutil.which("pulseaudio") is not None)


def start_server() -> bool:
    """Start PulseAudio if none answers; True if this call started it. PortAudio's device
    list is read again then, since it lists `pulse` and `default` only if they opened when it
    was first read (`import mediapipe` imports sounddevice, so that may be at collection)."""
    if pulse.server_running():
        return False
    subprocess.run(["pulseaudio", "--start", "--exit-idle-time=-1"], capture_output=True, timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pulse.server_running():
            _read_portaudio_devices_again()
            return True
        time.sleep(0.1)
    raise RuntimeError("pulseaudio --start did not bring up a server")


def _read_portaudio_devices_again() -> None:
    """Re-initialise PortAudio (no stream is open between test modules) so its device list
    includes the server just started."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


def stop_server() -> None:
    subprocess.run(["pulseaudio", "--kill"], capture_output=True, timeout=30)


@dataclass
class Pulse:
    """Loads modules with names unique to this test process and unloads them at the end."""

    prefix: str = field(default_factory=lambda: f"bdtest{os.getpid()}")
    modules: list[int] = field(default_factory=list)

    def name(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"

    def load(self, module: str, *args: str) -> int:
        index = pulse.load_module(module, *args)
        self.modules.append(index)
        return index

    def unload(self, index: int) -> None:
        if index in self.modules:
            self.modules.remove(index)
            pulse.unload_module(index)

    def null_sink(self, suffix: str, rate: int = RATE, channels: int = 2) -> str:
        name = self.name(suffix)
        cmap = "mono" if channels == 1 else "front-left,front-right"
        self.load("module-null-sink", f"sink_name={name}", f"rate={rate}", f"channels={channels}",
                  f"channel_map={cmap}")
        return name

    def right_channel_of(self, sink: str, suffix: str) -> str:
        """A mono sink whose signal lands in `sink`'s right channel only."""
        name = self.name(suffix)
        self.load("module-remap-sink", f"sink_name={name}", f"master={sink}", "channels=1",
                  "master_channel_map=front-right", "channel_map=mono", "remix=no")
        return name

    def close(self) -> None:
        for index in reversed(self.modules):
            try:
                pulse.unload_module(index)
            except pulse.PulseError:
                pass
        self.modules.clear()


def source_outputs_of_this_process(source: str) -> list[int]:
    """The indices of this process's recording streams on `source`."""
    sources = {line.split("\t")[1]: line.split("\t")[0] for line in pulse.pactl("list", "short", "sources").splitlines()}
    wanted = sources.get(source)
    found: list[int] = []
    current, on_source = None, None
    for line in pulse.pactl("list", "source-outputs").splitlines():
        line = line.strip()
        if line.startswith("Source Output #"):
            current, on_source = int(line.split("#")[1]), None
        elif line.startswith("Source:"):
            on_source = line.split(":", 1)[1].strip()
        elif line.startswith("application.process.id") and current is not None:
            if line.split("=", 1)[1].strip().strip('"') == str(os.getpid()) and on_source == wanted:
                found.append(current)
    return found


class Recorder:
    """Records a PulseAudio source (all its channels) into memory until `stop()`."""

    def __init__(self, source: str, channels: int = 2, rate: int = RATE) -> None:
        import sounddevice as sd

        self.rate = rate
        self._blocks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.overflows = 0

        def callback(indata, frames, time_info, status) -> None:
            if status.input_overflow:
                self.overflows += 1
            with self._lock:
                self._blocks.append(indata.copy())

        with pulse_target("PULSE_SOURCE", source):
            self._stream = sd.InputStream(device="pulse", channels=channels, samplerate=rate, blocksize=1024,
                                          latency=0.3, dtype="float32", callback=callback)
        self._stream.start()

    @property
    def seconds(self) -> float:
        with self._lock:
            return sum(len(b) for b in self._blocks) / self.rate

    def stop(self) -> np.ndarray:
        self._stream.stop()
        self._stream.close()
        with self._lock:
            return np.concatenate(self._blocks) if self._blocks else np.zeros((0, 1), np.float32)


class Player:
    """Plays `signal` (frames x channels float32) into a sink once, then silence."""

    def __init__(self, sink: str, signal: np.ndarray, rate: int = RATE) -> None:
        import sounddevice as sd

        self.signal = signal if signal.ndim == 2 else signal[:, None]
        self.pos = 0
        self.underflows = 0

        def callback(outdata, frames, time_info, status) -> None:
            if status.output_underflow:
                self.underflows += 1
            chunk = self.signal[self.pos:self.pos + frames]
            outdata[:len(chunk)] = chunk
            outdata[len(chunk):] = 0
            self.pos += frames

        with pulse_target("PULSE_SINK", sink):
            self._stream = sd.OutputStream(device="pulse", channels=self.signal.shape[1], samplerate=rate,
                                           blocksize=1024, latency=0.3, dtype="float32", callback=callback)
        self._stream.start()

    def stop(self) -> None:
        self._stream.stop()
        self._stream.close()


# -- reading recordings back ----------------------------------------------------------------
def click_train(seconds: float, period_s: float, channel: int, channels: int = 2, rate: int = RATE,
                amplitude: float = 0.8) -> np.ndarray:
    """Single-sample clicks every `period_s` (first at period_s) in one channel."""
    x = np.zeros((int(seconds * rate), channels), np.float32)
    x[np.arange(int(period_s * rate), len(x), int(period_s * rate)), channel] = amplitude
    return x


def click_positions(x: np.ndarray, threshold: float = 0.2, gap_s: float = 0.05, rate: int = RATE) -> np.ndarray:
    """Sample position (sub-sample, by parabolic peak fit) of each click in a mono signal."""
    a = np.abs(x)
    above = np.flatnonzero(a > threshold)
    found: list[float] = []
    last = -10**9
    for i in above:
        if i - last > gap_s * rate:
            j = i + int(np.argmax(a[i:i + 8]))
            y0, y1, y2 = (a[j - 1], a[j], a[j + 1]) if 0 < j < len(a) - 1 else (0.0, a[j], 0.0)
            den = y0 - 2 * y1 + y2
            found.append(j + (0.5 * (y0 - y2) / den if den else 0.0))
        last = i
    return np.array(found)


def pair_delays_ms(reference: np.ndarray, delayed: np.ndarray, expect_ms: float, rate: int = RATE) -> np.ndarray:
    """For each click of `delayed`, its distance in ms from the reference click nearest to
    `expect_ms` before it."""
    out = []
    for d in delayed:
        cands = reference[reference < d]
        if len(cands):
            k = np.argmin(np.abs((d - cands) * 1000 / rate - expect_ms))
            out.append((d - cands[k]) * 1000 / rate)
    return np.array(out)
