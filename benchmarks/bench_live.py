"""Live path latency and load: a video file paced at 30 fps (like a webcam) through the
whole live path (segment, matte, composite) to a virtual camera that records what it gets
(the null backend: no v4l2loopback device exists here).

    .venv/bin/python benchmarks/bench_live.py [--seconds 20]
    .venv/bin/python benchmarks/bench_live.py --soak [--frames 20000]

Prints, per size: capture-to-virtual-camera latency p50/p95, output fps, drops and CPU (% of
one core, whole process). The soak run switches the background every 500 frames and
"unplugs" the camera for 1 s every 5,000, then reports memory at start and end, threads
left over, and frames lost outside the unplugged spells.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app.engine.backgrounds.base import BlurBackground, ColourBackground  # noqa: E402
from app.engine.backgrounds.image import ImageBackground  # noqa: E402
from app.engine.core.frame import Frame  # noqa: E402
from app.engine.live.pipeline import LivePipeline  # noqa: E402
from app.engine.matting.refiner import MatteRefiner  # noqa: E402
from app.engine.matting.segmenter import Segmenter  # noqa: E402
from app.engine.outputs.null_camera import NullCameraBackend  # noqa: E402
from app.engine.outputs.virtual_camera import VirtualCameraOutput  # noqa: E402
from app.engine.sources.base import SourceLost  # noqa: E402
from app.engine.sources.realtime_file import RealtimeFileSource  # noqa: E402
from benchmarks.common import write_clip  # noqa: E402


class UnpluggableFile(RealtimeFileSource):
    """A looping file played in real time that can be unplugged like a USB camera."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, loop=True)
        self.plugged = threading.Event()
        self.plugged.set()
        self.delivered: list[int] = []  # capture indices handed on, for loss accounting

    def _open(self) -> None:
        if not self.plugged.is_set():
            raise SourceLost("unplugged")

    def _capture(self) -> Iterator[Frame]:
        for frame in super()._capture():
            if not self.plugged.is_set():
                raise SourceLost("unplugged")
            yield frame


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def live_run(clip: Path, seconds: float) -> dict[str, float]:
    source = RealtimeFileSource(clip, loop=True)
    vcam = VirtualCameraOutput(source.size, float(source.frame_rate), backend="null")
    pipeline = LivePipeline(source, Segmenter("general", video=True), MatteRefiner(), BlurBackground(), [vcam])
    pipeline.start()
    time.sleep(2.0)  # warm-up: model, caches, the first second of statistics
    pipeline.stats.snapshot()  # reset the CPU mark
    start_out, start_drop, start_in = pipeline.stats.frames_out, pipeline.dropped, pipeline.stats.frames_in
    start_lat = len(pipeline.stats.latencies_ms())
    t0 = time.monotonic()
    time.sleep(seconds)
    snap = pipeline.stats.snapshot()
    elapsed = time.monotonic() - t0
    frames_out = pipeline.stats.frames_out - start_out
    frames_in = pipeline.stats.frames_in - start_in
    drops = pipeline.dropped - start_drop
    lat = pipeline.stats.latencies_ms()[-max(1, min(frames_out, 600)):]
    pipeline.stop()
    pipeline.wait()
    return {"fps_out": frames_out / elapsed, "fps_in": frames_in / elapsed, "drops": drops,
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "cpu": snap.cpu_percent, **{f"ms {k}": v for k, v in snap.stage_ms.items() if v}, "lat_n": start_lat}


def soak(clip: Path, frames: int, photo: Path) -> None:
    threads_before = {t.name for t in threading.enumerate()}
    source = UnpluggableFile(clip)
    vcam = VirtualCameraOutput(source.size, float(source.frame_rate), backend="null")
    backgrounds = [lambda: BlurBackground(), lambda: ColourBackground((40, 90, 160)), lambda: ImageBackground(photo)]
    pipeline = LivePipeline(source, Segmenter("general", video=True), MatteRefiner(), backgrounds[0](), [vcam])
    pipeline.start()
    time.sleep(3.0)
    mem_start = rss_mb()
    switched = unplugs = 0
    drops_in_spells = 0
    last_report = time.monotonic()
    base_out = pipeline.stats.frames_out
    while pipeline.stats.frames_out - base_out < frames:
        done = pipeline.stats.frames_out - base_out
        if done // 500 > switched:
            switched += 1
            pipeline.set_background(backgrounds[switched % len(backgrounds)]())
        if done // 5000 > unplugs:
            unplugs += 1
            before = pipeline.dropped
            source.plugged.clear()
            time.sleep(1.0)
            source.plugged.set()
            time.sleep(0.5)
            drops_in_spells += pipeline.dropped - before
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  {done} frames, rss {rss_mb():.0f} MB, dropped {pipeline.dropped}", flush=True)
        time.sleep(0.05)
    mem_end = rss_mb()
    total_drops = pipeline.dropped
    pipeline.stop()
    pipeline.wait()
    time.sleep(0.5)
    extra = sorted({t.name for t in threading.enumerate()} - threads_before)
    print(f"soak: {frames} frames, {switched} background switches, {unplugs} unplugs "
          f"({source.reconnects} reconnects)")
    print(f"  memory: {mem_start:.0f} MB at start, {mem_end:.0f} MB at end ({mem_end - mem_start:+.1f} MB)")
    print(f"  threads left: {extra or 'none'}")
    print(f"  frames lost outside unplugged spells: {total_drops - drops_in_spells} "
          f"(within spells: {drops_in_spells}); repeats sent while unplugged: {pipeline.stats.repeats}")
    print(f"  virtual camera received {NullCameraBackend.log.frames} frames")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per size")
    parser.add_argument("--soak", action="store_true", help="run the soak test instead")
    parser.add_argument("--frames", type=int, default=20000, help="frames in the soak run")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.soak:
            clip = folder / "clip720.mp4"
            write_clip(clip, (1280, 720), 150, audio=False)
            import cv2
            photo = folder / "photo.jpg"
            cv2.imwrite(str(photo), np.full((1080, 1920, 3), 200, np.uint8))
            soak(clip, args.frames, photo)
            return
        print(f"cores: {os.cpu_count()}; source paced at 30 fps; {args.seconds:.0f} s measured per size\n")
        for size in ((1280, 720), (1920, 1080)):
            clip = folder / f"clip{size[1]}.mp4"
            write_clip(clip, size, 150, audio=False)
            r = live_run(clip, args.seconds)
            stages = " ".join(f"{k[3:]} {v:.1f}" for k, v in r.items() if k.startswith("ms "))
            print(f"{size[0]}x{size[1]}: out {r['fps_out']:.1f} fps (in {r['fps_in']:.1f}), drops {r['drops']}, "
                  f"latency p50 {r['p50']:.1f} ms p95 {r['p95']:.1f} ms, CPU {r['cpu']:.0f}% of one core")
            print(f"  stage ms: {stages}")


if __name__ == "__main__":
    main()
