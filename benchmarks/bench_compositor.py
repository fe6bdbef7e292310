"""Compositor cost per frame, GL against the CPU reference, at 1280x720 and 1920x1080, for
every kind of background, plain and with the "natural" look (light wrap, spill suppression,
colour match). All figures come from one run; GL includes upload and readback.

    .venv/bin/python benchmarks/bench_compositor.py [--repeats 40] [--sizes 720,1080] [--json FILE]

GL and CPU calls alternate frame by frame, so load from other processes hits both alike.
On Mesa llvmpipe GL is software: the GL/CPU ratio is what counts there. Targets: GL no
slower than the CPU at 1080p; video and procedural backgrounds at most 2 ms over a photo.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app.engine.backgrounds import library  # noqa: E402
from app.engine.backgrounds.spec import parse_background  # noqa: E402
from app.engine.compositing.cpu import CpuCompositor  # noqa: E402
from app.engine.compositing.effects import CompositeSettings  # noqa: E402
from app.engine.compositing.gl import GlCompositor  # noqa: E402
from app.engine.gl import context  # noqa: E402
from app.engine.matting.presets import MatteSettings  # noqa: E402
from app.engine.matting.refiner import MatteRefiner  # noqa: E402
from app.engine.matting.segmenter import Segmenter  # noqa: E402
from benchmarks.common import person_frames  # noqa: E402

KINDS = {  # kind: background spec (shipped backgrounds by name)
    "colour": "#2a6f4e",
    "photo": "sunset",
    "video": "waves",
    "blur": "blur",
    "procedural": "bokeh",
    "transparent": "transparent",
}
LOOKS = {"plain": CompositeSettings(), "natural": CompositeSettings.natural()}
SIZES = {"720": (1280, 720), "1080": (1920, 1080)}


def mattes(frames: list[np.ndarray]) -> list[np.ndarray]:
    seg = Segmenter("general", video=True)
    refiner = MatteRefiner(MatteSettings())
    try:
        return [refiner.refine(seg.confidence(f), f) for f in frames]
    finally:
        seg.close()


def measure(frames: list[np.ndarray], alphas: list[np.ndarray], spec: str, look: CompositeSettings,
            gl: GlCompositor, repeats: int) -> tuple[float, float, float, float]:
    """ms per frame (CPU median, GL median, CPU min, GL min), calls alternating, background
    time advancing at 30 fps. The minimum is the figure least touched by other load."""
    cpu = CpuCompositor(look)
    gl.settings = look
    background = parse_background(spec)
    samples: dict[str, list[float]] = {"cpu": [], "gl": []}
    try:
        for i in range(repeats + 3):
            k = i % len(frames)
            for name, comp in (("cpu", cpu), ("gl", gl)) if i % 2 else (("gl", gl), ("cpu", cpu)):
                t0 = time.perf_counter()
                comp.composite(frames[k], alphas[k], background, i / 30.0)
                if i >= 3:  # warm-up: shader compiles, first uploads, decoder start
                    samples[name].append((time.perf_counter() - t0) * 1000.0)
    finally:
        background.close()
    return (statistics.median(samples["cpu"]), statistics.median(samples["gl"]),
            min(samples["cpu"]), min(samples["gl"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="timed frames per cell")
    parser.add_argument("--sizes", default="720,1080", help="comma-separated: 720, 1080")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    rt = context.runtime()
    gl = GlCompositor(runtime=rt)
    print(f"GL: {rt.renderer} ({rt.version}); cores: {os.cpu_count()}")
    print("ms per frame: medians, then minimums; GL includes upload and readback; compare within this run\n")
    results = []
    row_plain_photo: dict[str, float] = {}
    for key in args.sizes.split(","):
        key = key.strip()
        size = SIZES[key]
        frames = person_frames(size, 12)
        alphas = mattes(frames)
        for look_name, look in LOOKS.items():
            print(f"== {size[0]}x{size[1]}, {look_name} ==")
            print(f"  {'kind':12s} {'CPU':>8s} {'GL':>8s} {'GL/CPU':>7s}   "
                  f"{'CPU min':>8s} {'GL min':>8s} {'ratio':>6s}")
            row = {}
            for kind, spec in KINDS.items():
                c, g, cm, gm = measure(frames, alphas, spec, look, gl, args.repeats)
                row[kind] = (c, g)
                results.append({"size": f"{size[0]}x{size[1]}", "look": look_name, "kind": kind,
                                "cpu_ms": round(c, 2), "gl_ms": round(g, 2), "cpu_min_ms": round(cm, 2),
                                "gl_min_ms": round(gm, 2)})
                print(f"  {kind:12s} {c:8.2f} {g:8.2f} {g / c:7.2f}   {cm:8.2f} {gm:8.2f} {gm / cm:6.2f}", flush=True)
            if look_name == "plain":
                row_plain_photo[key] = row["photo"][1]
            for kind in ("video", "procedural"):
                for i, name in enumerate(("CPU", "GL")):
                    extra = row[kind][i] - row["photo"][i]
                    print(f"  {kind} over photo, {name}: {extra:+.2f} ms")
            print()
        scenes = [e for e in library.scan().entries if e.kind == "shader" and e.origin == "shipped"]
        print(f"== {size[0]}x{size[1]}, each shipped scene, plain ==")
        for entry in scenes:
            c, g, _, _ = measure(frames, alphas, entry.id, LOOKS["plain"], gl, args.repeats // 2)
            results.append({"size": f"{size[0]}x{size[1]}", "look": "plain", "kind": f"scene:{entry.id}",
                            "cpu_ms": round(c, 2), "gl_ms": round(g, 2)})
            over = g - row_plain_photo[key]
            print(f"  {entry.id:12s} {c:8.2f} {g:8.2f} {g / c:7.2f}   (GL {over:+.2f} ms over photo)")
        print()
    gl.close()
    if args.json:
        args.json.write_text(json.dumps({"renderer": rt.renderer, "results": results}, indent=2))


if __name__ == "__main__":
    main()
