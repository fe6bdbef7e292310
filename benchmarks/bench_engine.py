"""Per-stage cost of the engine at 1280x720 and 1920x1080, against bare segmentation, and
`process` end to end (decode, work, H.264 encode) in frames per second.

    .venv/bin/python benchmarks/bench_engine.py [--frames 300] [--repeats 60]

"Bare segmentation" is one MediaPipe ImageSegmenter call on the full frame, as a program
that just uses MediaPipe would make it, with the model the default preset runs at that size;
the engine's own segment stage (one resize to the model's input, then the model) is printed
beside it; then `process` with the quality preset (RVM), and each model's own segment cost
on video frames and on a photo. All figures come from this one run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402

from app.engine.backgrounds.spec import parse_background  # noqa: E402
from app.engine.compositing.base import composite  # noqa: E402
from app.engine.files.pipeline import Pipeline  # noqa: E402
from app.engine.matting.presets import MatteSettings  # noqa: E402
from app.engine.matting.refiner import MatteRefiner  # noqa: E402
from app.engine.matting.models.mediapipe import MediaPipeModel  # noqa: E402
from app.engine.matting.segmenter import Segmenter  # noqa: E402
from app.engine.outputs.video_file import VideoFileOutput  # noqa: E402
from app.engine.sources import VideoFileSource  # noqa: E402
from benchmarks.common import person_frames, time_ms, write_clip  # noqa: E402

SIZES = ((1280, 720), (1920, 1080))


def bench_stages(size: tuple[int, int], repeats: int, photo: Path) -> dict[str, float]:
    frames = person_frames(size, 30)
    model = MatteSettings().model_for(size)  # what the default preset runs at this size
    seg = Segmenter(model, video=True)
    bare_model = MediaPipeModel(model, video=True)
    ts = itertools.count(0, 33)
    task = bare_model.task  # the same MediaPipe task, fed the full frame (it resizes it itself)
    bare = time_ms(lambda i: task.segment_for_video(
        mp.Image(image_format=mp.ImageFormat.SRGB, data=frames[i % 30]), next(ts)), repeats)
    segment = time_ms(lambda i: seg.confidence(frames[i % 30]), repeats)
    confs = [seg.confidence(f) for f in frames]
    refiner = MatteRefiner(MatteSettings())
    matte = time_ms(lambda i: refiner.refine(confs[i % 30], frames[i % 30]), repeats)
    alphas = [refiner.refine(c, f) for c, f in zip(confs, frames)]
    row = {"bare segmentation": bare, "segment": segment, "matte": matte}
    for spec in ("blur", "#20a040", str(photo), "transparent"):
        bg = parse_background(spec)
        name = "photo" if spec == str(photo) else spec
        row[f"composite {name}"] = time_ms(
            lambda i: composite(frames[i % 30], alphas[i % 30], bg.render(frames[i % 30], i / 30)), repeats)
        bg.close()
    seg.close()
    bare_model.close()
    return row


def bench_models(size: tuple[int, int], repeats: int) -> dict[str, float]:
    """Median ms of the segment stage (model included) for each person model on video frames
    of `size`, and of a photo cut-out (u2netp for objects, rvm for people) on one frame."""
    frames = person_frames(size, 30)
    row = {}
    for name in ("landscape", "general", "rvm"):
        with Segmenter(name, video=True, frame_size=size) as seg:
            row[f"video {name}"] = time_ms(lambda i: seg.confidence(frames[i % 30]), repeats)
    for name in ("rvm", "u2netp"):
        with Segmenter(name, video=False) as seg:
            row[f"photo {name}"] = time_ms(lambda i: seg.confidence(frames[i % 30]), max(3, repeats // 10))
    return row


def bench_process(size: tuple[int, int], frames: int, folder: Path,
                  preset: str = "balanced") -> tuple[float, float]:
    """(process fps, encode-only fps) for a clip of `frames` frames at `size`."""
    clip = folder / f"clip{size[1]}.mp4"
    write_clip(clip, size, frames)
    # encode alone, the same encoder settings as the output, from decoded frames in memory
    with av.open(str(clip)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in itertools.islice(c.decode(video=0), 120)]
    enc_out = VideoFileOutput(folder / f"enc{size[1]}.mp4", Fraction(30))
    from app.engine.core.frame import Frame
    t0 = time.perf_counter()
    for i, img in enumerate(decoded):
        enc_out.write(Frame(img, 0, i, i, Fraction(1, 30)), img)
    enc_out.close()
    encode_fps = len(decoded) / (time.perf_counter() - t0)

    out = folder / f"out{size[1]}.mp4"
    source = VideoFileSource(clip)
    settings = MatteSettings(preset=preset)
    seg = Segmenter.for_video(settings, size)  # as `backdrop process` runs it
    pipeline = Pipeline(source, seg, MatteRefiner(settings), parse_background("blur"),
                        [VideoFileOutput(out, source.frame_rate, audio_from=clip)])
    t0 = time.perf_counter()
    stats = pipeline.run()
    fps = stats.frames_out / (time.perf_counter() - t0)
    seg.close()
    return fps, encode_fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames in the end-to-end clip")
    parser.add_argument("--repeats", type=int, default=60, help="timed calls per stage")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = folder / "photo.jpg"
        import cv2
        grad = np.dstack(np.meshgrid(np.linspace(0, 255, 2400), np.linspace(0, 255, 1600))[:1] * 3).astype(np.uint8)
        cv2.imwrite(str(photo), grad)
        print(f"cores: {os.cpu_count()}  (ms are medians; compare ratios within this run)\n")
        for size in SIZES:
            row = bench_stages(size, args.repeats, photo)
            print(f"== {size[0]}x{size[1]} ==")
            for name, ms in row.items():
                print(f"  {name:24s} {ms:6.2f} ms")
            base = row["segment"] + row["matte"]
            bare = row["bare segmentation"]
            for kind in ("blur", "#20a040", "photo", "transparent"):
                work = base + row[f"composite {kind}"]
                print(f"  work with {kind:12s} {work:6.2f} ms = {work / bare:4.2f}x bare segmentation "
                      f"({work / row['segment']:4.2f}x the engine's segment stage)")
            fps, enc = bench_process(size, args.frames, folder)
            print(f"  process end to end       {fps:6.1f} fps  (H.264 encode alone {enc:5.1f} fps)")
            fps, _ = bench_process(size, args.frames, folder, "quality")
            print(f"  process --preset quality {fps:6.1f} fps")
            for name, ms in bench_models(size, args.repeats).items():
                print(f"  model: {name:17s} {ms:6.2f} ms")
            print()


if __name__ == "__main__":
    main()
