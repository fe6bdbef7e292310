"""Helpers shared by the benchmarks: frames of a real person and timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from app.engine.core.memory import keep_freed_buffers
from app.engine.sources.demo import demo_frames

keep_freed_buffers()  # every figure is taken with the allocator tuned as the app tunes it


def person_frames(size: tuple[int, int], count: int, fps: float = 30.0) -> list[np.ndarray]:
    """`count` frames of the swaying demo portrait at `size`."""
    return demo_frames(size, count, fps)


def time_ms(fn: Callable[[int], object], repeats: int, warmup: int = 3) -> float:
    """Median wall time of fn(i) in ms over `repeats` calls, after `warmup` calls."""
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(samples)


def write_clip(path: Path, size: tuple[int, int], frames: int, fps: int = 30, audio: bool = True) -> None:
    """An H.264 clip of the demo portrait with a 440 Hz AAC tone, for end-to-end runs."""
    images = person_frames(size, min(frames, 90), fps)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "mono"
        samples_per_frame = 48000 // fps
        for i in range(frames):
            k = i % (2 * len(images) - 2) if len(images) > 1 else 0
            img = images[k if k < len(images) else 2 * len(images) - 2 - k]
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for p in vs.encode(vf):
                out.mux(p)
            if audio:
                t = (np.arange(samples_per_frame) + i * samples_per_frame) / 48000
                tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
                af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, i * samples_per_frame
                for p in aus.encode(af):
                    out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if audio:
            for p in aus.encode(None):
                out.mux(p)
