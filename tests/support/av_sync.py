"""A/V sync test equipment: a clip with white flashes and 1 kHz beeps at the same instants
(irregularly spaced), and reading flash and beep times back from a video file, so that
the offset of each pair can be measured (benchmarks/bench_av_sync.py, tests of live mode)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.engine.sources.demo import demo_frames


RATE = 48000
BEEP_HZ = 1000.0
BEEP_S = 0.12
FLASH_FRAMES = 4
AMP = 0.5


# -- the test clip --------------------------------------------------------------------------
def event_times(seconds: float, first: float = 4.0) -> list[float]:
    """Irregular instants (s), at least 0.9 s apart, from `first` on."""
    gaps = [1.3, 0.9, 1.7, 1.1, 2.3, 0.95, 1.45, 1.9, 1.05, 1.6, 1.25, 2.05]
    times, t, k = [], first, 0
    while t < seconds - 1.0:
        times.append(round(t * 30) / 30)  # on a frame of a 30 fps clip
        t += gaps[k % len(gaps)]
        k += 1
    return times


def frame_times(seconds: float, fps: int, vfr: bool, events: list[float]) -> list[Fraction]:
    """Frame times; with `vfr`, gaps of 1-3 ticks of 1/fps, always with a frame at each event."""
    tick = Fraction(1, fps)
    if not vfr:
        return [k * tick for k in range(int(seconds * fps))]
    pattern = [1, 2, 1, 3, 1, 1, 2]
    times, t, k = [], Fraction(0), 0
    marks = sorted(Fraction(e).limit_denominator(fps) for e in events)
    while t < seconds:
        times.append(t)
        nxt = t + pattern[k % len(pattern)] * tick
        due = [m for m in marks if t < m < nxt]
        t = due[0] if due else nxt
        k += 1
    return times


def make_clip(path: Path, size: tuple[int, int], seconds: float, events: list[float], *, fps: int = 30,
              vfr: bool = False, audio_start: float = 0.0) -> np.ndarray:
    """Write the clip; flashes start at the frames at the event times and beeps at the event
    times exactly. Returns the audio (mono, RATE) from time 0 (before audio_start: silent)."""
    people = demo_frames(size, 60, fps)
    white = np.full((size[1], size[0], 3), 255, np.uint8)
    vtimes = frame_times(seconds, fps, vfr, events)
    event_frames = {min(range(len(vtimes)), key=lambda i: abs(float(vtimes[i]) - e)) for e in events}
    flash = set()
    for i in event_frames:
        flash.update(range(i, i + FLASH_FRAMES))
    sound = np.zeros(int(seconds * RATE), np.float32)
    n = int(BEEP_S * RATE)
    t = np.arange(n) / RATE
    for e in events:
        k = int(round(e * RATE))
        sound[k:k + n] = AMP * np.sin(2 * np.pi * BEEP_HZ * t)
    tb = Fraction(1, 90000)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "20"})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.time_base = vs.codec_context.time_base = tb
        aus = out.add_stream("aac", rate=RATE)
        aus.layout = "mono"
        for i, vt in enumerate(vtimes):
            img = white if i in flash else people[i % len(people)]
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = int(vt / tb), tb
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        start = int(round(audio_start * RATE))
        for off in range(start, len(sound), 1024):
            chunk = np.ascontiguousarray(sound[off:off + 1024][None, :])
            af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = RATE, off, Fraction(1, RATE)
            for p in aus.encode(af):
                out.mux(p)
        for p in aus.encode(None):
            out.mux(p)
    sound[:int(round(audio_start * RATE))] = 0
    return sound


# -- reading outputs back ---------------------------------------------------------------------
def flash_onsets(times: list[float], brightness: list[float]) -> list[float]:
    """Times of the frames where a bright run starts."""
    b = np.asarray(brightness)
    thr = (np.percentile(b, 5) + b.max()) / 2
    bright = b > thr
    return [times[i] for i in range(len(b)) if bright[i] and (i == 0 or not bright[i - 1])]


def beep_onsets(x: np.ndarray, t0: float, rate: int = RATE, level: float = AMP / 2) -> list[float]:
    """Times where the 1 kHz envelope first passes `level`, one per beep."""
    a = np.abs(x)
    w = int(rate / BEEP_HZ)  # one period: the envelope of a sine
    env = np.maximum.reduce([np.r_[a[k:], np.zeros(k)] for k in range(w)])
    above = np.flatnonzero(env > level)
    onsets, last = [], -10**9
    for i in above:
        if i - last > 0.5 * rate:
            onsets.append(t0 + i / rate)
        last = i
    return onsets


def read_file(path: Path) -> tuple[list[float], list[float], np.ndarray, float]:
    """Flash candidates (frame times, mean brightness) and the audio (mono, from its first
    timestamp) of a video file, all on the file's timeline."""
    times, bright = [], []
    with av.open(str(path)) as c:
        for vf in c.decode(video=0):
            times.append(float(vf.pts * vf.time_base))
            bright.append(float(vf.to_ndarray(format="gray").mean()))
    chunks: list[tuple[float, np.ndarray]] = []
    with av.open(str(path)) as c:
        for af in c.decode(audio=0):
            arr = af.to_ndarray()
            mono = arr.reshape(-1, len(af.layout.channels)).T.mean(axis=0) if not af.format.is_planar \
                else arr.mean(axis=0)
            chunks.append((float(af.pts * af.time_base), mono.astype(np.float32)))
    t0 = chunks[0][0]
    end = max(t + len(m) / RATE for t, m in chunks)
    audio = np.zeros(int((end - t0) * RATE) + 1, np.float32)
    for t, m in chunks:
        k = int(round((t - t0) * RATE))
        audio[k:k + len(m)] = m[:len(audio) - k]
    return times, bright, audio, t0


def pair(flashes: list[float], beeps: list[float]) -> list[tuple[float, float]]:
    """(flash time, beep - flash in ms) for each flash with a beep within 0.4 s."""
    out = []
    for f in flashes:
        if beeps:
            b = min(beeps, key=lambda x: abs(x - f))
            if abs(b - f) < 0.4:
                out.append((f, (b - f) * 1000.0))
    return out
