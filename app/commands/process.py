"""`backdrop process INPUT OUTPUT`: every frame of INPUT, composited, to OUTPUT."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from app.commands.common import (
    add_compositor_option,
    add_duration_option,
    add_fps_option,
    add_matte_options,
    add_size_option,
    compositor_kind,
    matte_settings,
)
from app.commands.signals import Stopped, signum_of
from app.engine.backgrounds.base import TransparentBackground
from app.engine.backgrounds.spec import parse_background
from app.engine.compositing.base import Compositor
from app.engine.compositing.choose import make_compositor
from app.engine.core.stats import PipelineStats
from app.engine.files.pipeline import Pipeline
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.atomic import check_writable_target
from app.engine.outputs.png_sequence import PngSequenceOutput
from app.engine.outputs.video_file import (
    CONTAINERS,
    VideoFileOutput,
    check_alpha_support,
    container_for,
)
from app.engine.sources import open_source
from app.progress import ProgressBar


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("process", help="process a video file, a folder of frames, the demo or a camera")
    p.add_argument("input", help="video file, folder of frames, image, 'demo', or 'camera[:N]'")
    p.add_argument("output", help="video file (.mp4 .mkv .mov .webm) or a folder for a PNG sequence")
    p.add_argument("--background", "-b", default="blur",
                   help="blur[:STRENGTH], transparent, a colour (white, #RRGGBB), an installed background's "
                        "name (see `backdrop backgrounds`), or a photo, video or .frag path")
    p.add_argument("--fit", choices=("cover", "contain", "stretch"), default="cover",
                   help="how a photo or video background fills the frame")
    add_compositor_option(p)
    p.add_argument("--matte", action="store_true", help="write the alpha matte (grey) instead of the composite")
    add_size_option(p, "frame size for demo and camera")
    add_fps_option(p, "frame rate for demo, camera and frame folders")
    add_duration_option(p, 10.0, "seconds to take from the demo or a camera")
    p.add_argument("--overwrite", "-y", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    add_matte_options(p)
    p.set_defaults(run=run)


def _input_paths(spec: str) -> list[Path]:
    return [] if spec == "demo" or spec.startswith("camera") else [Path(spec)]


def run(args: argparse.Namespace) -> int:
    kind = compositor_kind(args)
    output = Path(args.output)
    to_video = output.suffix.lower() in CONTAINERS
    if output.suffix and not to_video and not output.is_dir():
        container_for(output)  # raises a clear "unsupported extension" error
    check_writable_target(output, _input_paths(args.input), args.overwrite)
    settings = matte_settings(args)
    background = parse_background(args.background, args.fit)
    transparent = isinstance(background, TransparentBackground) and not args.matte
    if to_video and transparent:
        check_alpha_support(output)
    source = open_source(args.input, size=args.size, fps=args.fps, duration=args.duration)
    if not to_video and source.audio_path is not None and not args.quiet:
        print(f"backdrop: note: {output}: a folder of PNG frames holds no sound; the audio of "
              f"{args.input} is not kept", file=sys.stderr)
    segmenter: Segmenter | None = None
    compositor: Compositor | None = None  # one made here is closed here; "auto": the pipeline's own
    try:
        segmenter = Segmenter.for_video(settings, source.size, args.model)
        compositor = None if kind == "auto" else make_compositor(kind)
        if to_video:
            sink = VideoFileOutput(output, source.frame_rate, audio_from=source.audio_path, alpha=transparent)
        else:
            sink = PngSequenceOutput(output)
    except BaseException:
        for part in (compositor, segmenter, source, background):
            if part is not None:
                part.close()
        raise
    bar = ProgressBar(source.expected_frames, "processing")
    bar.enabled = bar.enabled and not args.quiet
    pipeline = Pipeline(source, segmenter, MatteRefiner(settings), background, [sink],
                        matte_only=args.matte, on_frame=lambda stats: bar.update(stats.frames_out),
                        compositor=compositor)
    try:
        stats = run_to_end(pipeline, args.duration if source.live else None)
    finally:
        bar.close()
        segmenter.close()
        if compositor is not None:
            compositor.close()
    if not args.quiet:
        snap = stats.snapshot()
        print(f"wrote {output}: {snap.frames_out} frames in {snap.elapsed_s:.1f} s "
              f"({snap.frames_out / max(snap.elapsed_s, 1e-9):.1f} fps)", file=sys.stderr)
    return 0


def run_to_end(pipeline: Pipeline, live_seconds: float | None) -> PipelineStats:
    """Run a pipeline. A file source runs to its end and Ctrl-C (or another stop signal)
    discards the output; a live source runs for `live_seconds` and a stop signal ends it
    early, keeping what was recorded, and is raised again (as `Stopped`) once it is written."""
    if live_seconds is None:
        return pipeline.run()
    timer = threading.Timer(live_seconds, pipeline.finish)
    timer.daemon = True
    pipeline.start()
    timer.start()
    stopped: KeyboardInterrupt | None = None
    try:
        while True:
            try:
                pipeline.wait()
                break
            except KeyboardInterrupt as exc:
                stopped = stopped or exc
                pipeline.finish()
    finally:
        timer.cancel()
    if stopped is not None:  # finished and kept; the exit status still says it was stopped
        raise Stopped(signum_of(stopped), "what was recorded is kept") from None
    return pipeline.stats
