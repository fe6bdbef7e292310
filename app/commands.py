"""What each `backdrop` subcommand does, over the engine."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from app.engine import devices as device_info
from app.engine.backgrounds import TransparentBackground, parse_background, parse_colour
from app.engine.batch import FORMATS, RemoveJob, collect_inputs, plan_targets, run_jobs, write_report
from app.engine.errors import OutputError, SettingsError
from app.engine.matte import MatteRefiner, MatteSettings
from app.engine.outputs.atomic import check_writable_target
from app.engine.outputs.png_sequence import PngSequenceOutput
from app.engine.outputs.video_file import VideoFileOutput, check_alpha_support, container_for
from app.engine.pipeline import Pipeline
from app.engine.stats import PipelineStats
from app.engine.segmenter import Segmenter
from app.engine.sources import open_source
from app.progress import ProgressBar

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".mov", ".webm"}


def matte_settings(args: argparse.Namespace) -> MatteSettings:
    return MatteSettings(threshold=args.threshold, softness=args.softness, grow=args.grow,
                         feather=args.feather, invert=args.invert)


def _input_paths(spec: str) -> list[Path]:
    return [] if spec == "demo" or spec.startswith("camera") else [Path(spec)]


def process(args: argparse.Namespace) -> int:
    """`backdrop process INPUT OUTPUT`: every frame of INPUT, composited, to OUTPUT."""
    output = Path(args.output)
    to_video = output.suffix.lower() in VIDEO_SUFFIXES
    if output.suffix and not to_video and not output.is_dir():
        container_for(output)  # raises a clear "unsupported extension" error
    check_writable_target(output, _input_paths(args.input), args.overwrite)
    settings = matte_settings(args)
    background = parse_background(args.background, args.fit)
    transparent = isinstance(background, TransparentBackground) and not args.matte
    if to_video and transparent:
        check_alpha_support(output)
    source = open_source(args.input, size=args.size, fps=args.fps, duration=args.duration)
    try:
        segmenter = Segmenter(args.model, video=True)
        if to_video:
            sink = VideoFileOutput(output, source.frame_rate, audio_from=source.audio_path, alpha=transparent)
        else:
            sink = PngSequenceOutput(output)
    except BaseException:
        source.close()
        background.close()
        raise
    bar = ProgressBar(source.expected_frames, "processing", interval=0.2)
    if args.quiet:
        bar.enabled = False
    pipeline = Pipeline(source, segmenter, MatteRefiner(settings), background, [sink],
                        matte_only=args.matte, on_frame=lambda stats: bar.update(stats.frames_out))
    try:
        stats = run_to_end(pipeline, args.duration if source.live else None)
    finally:
        bar.close()
        segmenter.close()
    if not args.quiet:
        snap = stats.snapshot()
        print(f"wrote {output}: {snap.frames_out} frames in {snap.elapsed_s:.1f} s "
              f"({snap.frames_out / max(snap.elapsed_s, 1e-9):.1f} fps)", file=sys.stderr)
    return 0


def run_to_end(pipeline: Pipeline, live_seconds: float | None) -> PipelineStats:
    """Run a pipeline. A file source runs to its end and Ctrl-C discards the output; a live
    source runs for `live_seconds` and Ctrl-C ends it early, keeping what was recorded."""
    if live_seconds is None:
        return pipeline.run()
    timer = threading.Timer(live_seconds, pipeline.finish)
    timer.daemon = True
    pipeline.start()
    timer.start()
    try:
        while True:
            try:
                pipeline.wait()
                return pipeline.stats
            except KeyboardInterrupt:
                pipeline.finish()
    finally:
        timer.cancel()


def remove(args: argparse.Namespace) -> int:
    """`backdrop remove`: cut out each photo; a bad file is reported and the rest go on."""
    fmt = args.format
    if fmt not in FORMATS:
        raise SettingsError(f"format must be one of {', '.join(FORMATS)}")
    spec = args.background.strip()
    if spec != "transparent" and parse_colour(spec) is None:
        parse_background(spec).close()  # validates the photo once, up front
    elif spec == "transparent" and fmt == "jpg":
        raise SettingsError("--format jpg cannot hold transparency; pass --background white (or a colour)")
    else:
        spec = spec if spec == "transparent" else spec
    settings = matte_settings(args)
    images, errors = collect_inputs(args.inputs)
    for line in errors:
        print(f"backdrop: error: {line}", file=sys.stderr)
    if not images:
        raise SettingsError("no images to process") if not errors else _NoImages()
    try:
        args.outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{args.outdir}: cannot be created ({exc.strerror})") from None
    jobs = [RemoveJob(src, dst, spec, args.model, args.overwrite, settings)
            for src, dst in plan_targets(images, args.outdir, fmt)]
    bar = ProgressBar(len(jobs), "removing")
    bar.enabled = bar.enabled and not args.quiet
    done = 0

    def on_result(result) -> None:
        nonlocal done
        done += 1
        if result.status == "failed":
            print(f"\rbackdrop: error: {result.note}", file=sys.stderr)
        bar.update(done)

    try:
        results = run_jobs(jobs, max(1, args.jobs), on_result)
    finally:
        bar.close()
    if args.report:
        write_report(args.report, results)
    failed = sum(r.status == "failed" for r in results) + len(errors)
    flagged = [r for r in results if r.status == "flagged"]
    if not args.quiet:
        ok = len(results) - failed + len(errors) - len(flagged)
        print(f"{ok} done, {len(flagged)} flagged for review, {failed} failed", file=sys.stderr)
        for r in flagged:
            print(f"  review {r.source}: {r.note}", file=sys.stderr)
    return 1 if failed else 0


class _NoImages(OutputError):
    def __init__(self) -> None:
        super().__init__("no readable images among the inputs")


def devices(args: argparse.Namespace) -> int:
    """`backdrop devices`: cameras, audio devices and the virtual camera."""
    videos = device_info.video_devices()
    cameras = [d for d in videos if not d.loopback]
    loopbacks = [d for d in videos if d.loopback]
    print("Cameras:")
    for d in cameras:
        print(f"  {d.path}  {d.name}")
    if not cameras:
        print("  none found")
    audio, reason = device_info.audio_devices()
    print("Audio inputs:")
    for d in (a for a in audio if a.inputs):
        print(f"  [{d.index}] {d.name} ({d.inputs} ch, {d.default_rate:.0f} Hz)")
    print("Audio outputs:")
    for d in (a for a in audio if a.outputs):
        print(f"  [{d.index}] {d.name} ({d.outputs} ch, {d.default_rate:.0f} Hz)")
    if reason:
        print(f"  {reason}")
    print("Virtual camera:")
    for d in loopbacks:
        print(f"  {d.path}  {d.name}")
    if not loopbacks:
        print(f"  none found; {device_info.virtual_camera_hint()}")
    return 0
