"""`backdrop run`: the live job. Webcam in; virtual camera, recording and stream out."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from fractions import Fraction
from pathlib import Path

from app.commands.common import (
    add_compositor_option,
    add_duration_option,
    add_fps_option,
    add_matte_options,
    add_number,
    add_size_option,
    compositor_kind,
    matte_settings,
)
from app.commands.signals import calling_on_stop_signals, exit_status, signal_name
from app.engine.audio.file_audio import FileAudio
from app.engine.audio.live_audio import LiveAudio
from app.engine.backgrounds.spec import parse_background
from app.engine.compositing.base import Compositor
from app.engine.compositing.choose import make_compositor
from app.engine.core.errors import BackdropError, OutputError
from app.engine.core.stats import StatsSnapshot
from app.engine.live.auto import AutoFallback, open_matte, switch_in_background
from app.engine.live.parts import choose_microphone
from app.engine.live.pipeline import LivePipeline
from app.engine.live.settings import LiveSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.preview import PreviewOutput
from app.engine.outputs.rtmp_stream import RtmpStreamOutput, StreamSettings
from app.engine.outputs.video_file import VideoFileOutput, container_for
from app.engine.outputs.virtual_camera import VirtualCameraOutput
from app.engine.sources import open_live_source

log = logging.getLogger("backdrop")
MIN_BITRATE_KBPS, MAX_BITRATE_KBPS = 100, 50000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="live: webcam to virtual camera, recording and stream")
    p.add_argument("--camera", default="0", help="camera index, /dev/videoN, 'demo', or a video file played in real time")
    p.add_argument("--loop", action="store_true", help="loop a video file given as --camera")
    add_size_option(p, "camera size to ask for")
    add_fps_option(p, "camera frame rate to ask for")
    p.add_argument("--background", "-b", default="blur", help="blur[:N], transparent, a colour, a photo or video")
    p.add_argument("--fit", choices=("cover", "contain", "stretch"), default="cover")
    add_compositor_option(p)
    p.add_argument("--vcam", nargs="?", const="", default=None, metavar="DEVICE",
                   help="send to the virtual camera (optionally this device); the default when no other output is given")
    p.add_argument("--vcam-backend", default=None, metavar="NAME",
                   help="pyvirtualcam backend; 'null' sends nowhere (rehearsal without a device)")
    p.add_argument("--keep-camera-on", action="store_true",
                   help="keep reading the webcam even when no app reads the virtual camera")
    p.add_argument("--record", type=Path, metavar="FILE", help="record the composite (.mp4 fragmented, or .mkv)")
    p.add_argument("--stream", metavar="URL", help="stream over RTMP, e.g. rtmp://live.twitch.tv/app/KEY")
    add_number(p, "--bitrate", kind=int, low=MIN_BITRATE_KBPS, high=MAX_BITRATE_KBPS, default=4500, metavar="KBPS",
               help="stream video bitrate")
    p.add_argument("--vbr", action="store_true", help="variable bitrate stream (default: constant, as Twitch asks)")
    add_duration_option(p, None, "stop after N seconds (default: until Ctrl-C)")
    p.add_argument("--mic", default=None, metavar="DEVICE",
                   help="microphone: 'default', 'none', 'file' (the sound of the video file given as --camera, "
                        "in step with its pictures; the default for such a file when it has sound), a PortAudio "
                        "index or name, or a PulseAudio source (name or part of its description); see "
                        "`backdrop devices`")
    p.add_argument("--mic-out", default=None, metavar="DEVICE",
                   help="play the delayed microphone to this output (VB-Cable on Windows, BlackHole on macOS) "
                        "instead of creating the virtual microphone")
    p.add_argument("--no-virtual-mic", action="store_true",
                   help="do not create the virtual microphone (the microphone still goes into --record/--stream)")
    add_number(p, "--av-offset", low=LiveSettings.av_offset_ms.lo, high=LiveSettings.av_offset_ms.hi,
               default=0.0, metavar="MS",
               help="extra delay of the virtual microphone on top of the video latency, in ms "
                    "(negative: earlier), for a viewer's chain that delays the video further")
    p.add_argument("--preview", action="store_true", help="show the output in a window")
    p.add_argument("--overwrite", "-y", action="store_true", help="replace an existing recording")
    p.add_argument("--quiet", "-q", action="store_true", help="no statistics line")
    add_matte_options(p, live=True)
    p.set_defaults(run=run)


def _check_outputs(args: argparse.Namespace) -> None:
    if args.record is not None:
        container_for(args.record)
        if args.record.exists() and not args.overwrite:
            raise OutputError(f"{args.record}: already exists (pass --overwrite to replace it)")


def _outputs(args: argparse.Namespace, size: tuple[int, int], fps: Fraction,
             audio: LiveAudio | None) -> tuple[list, VirtualCameraOutput | None]:
    """The outputs, the virtual camera first: audio is synced to the first output."""
    outputs: list = []
    if args.record is not None:
        outputs.append(VideoFileOutput(args.record, fps, recording=True, live_audio=audio.tap() if audio else None))
    if args.stream:
        outputs.append(RtmpStreamOutput(args.stream, float(fps), StreamSettings(bitrate_kbps=args.bitrate, cbr=not args.vbr),
                                        audio=audio.tap() if audio else None))
    if args.preview:
        outputs.append(PreviewOutput())
    vcam = None
    if args.vcam is not None or not outputs:
        try:
            vcam = VirtualCameraOutput(size, float(fps), device=args.vcam or None, backend=args.vcam_backend)
            outputs.insert(0, vcam)
            print(f"backdrop: virtual camera {vcam.device} ({size[0]}x{size[1]} at {float(fps):.0f} fps)", file=sys.stderr)
        except OutputError as exc:
            if not outputs:
                raise
            print(f"backdrop: warning: {exc}; going on without it", file=sys.stderr)
    return outputs, vcam


def _failure(camera: str, exc: Exception) -> BackdropError:
    """One line for an error that is not a BackdropError (a bug), naming the camera."""
    log.debug("live mode failed", exc_info=exc)
    label = f"camera {camera}" if camera.isdigit() else camera
    return BackdropError(f"{label}: live mode stopped ({type(exc).__name__}: {exc})")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="backdrop: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(logging.INFO)  # live mode also says what it opened and chose
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up notes are not ours
    kind = compositor_kind(args)
    _check_outputs(args)
    background = parse_background(args.background, args.fit)
    source = open_live_source(args.camera, size=args.size, fps=args.fps, loop=args.loop)
    audio: LiveAudio | None = None
    outputs: list = []
    segmenter: Segmenter | None = None
    compositor: Compositor | None = None
    try:
        mic = choose_microphone(args.mic, source)
        if isinstance(mic, FileAudio):
            log.info("audio: %s goes out with its pictures (--mic to use a microphone instead)", mic.label)
        if mic is not None:
            audio = LiveAudio(mic, virtual_mic=not args.no_virtual_mic, mic_out=args.mic_out,
                              offset_ms=args.av_offset)
        outputs, vcam = _outputs(args, source.size, source.frame_rate, audio)
        segmenter, settings, choice = open_matte(matte_settings(args), source, args.model)
        compositor = make_compositor(kind)
    except BaseException:
        for output in outputs:
            output.abort()
        for part in (segmenter, source, background):
            if part is not None:
                part.close()
        raise

    fallback: AutoFallback | None = None

    def show(snapshot: StatsSnapshot) -> None:
        if not args.quiet:
            print(snapshot.line(), file=sys.stderr, flush=True)
        if fallback is not None:
            fallback.observe(snapshot)

    pipeline = LivePipeline(source, segmenter, MatteRefiner(settings), background, outputs,
                            on_stats=show, reader_check=vcam.readers if vcam else None,
                            pause_without_readers=not args.keep_camera_on, compositor=compositor)
    if choice is not None:  # (open_matte has logged it)
        fallback = AutoFallback(choice, lambda preset, reason: switch_in_background(
            pipeline, settings.resolved(preset), source.size, lambda line: print(f"backdrop: {line}", file=sys.stderr)))
    if audio is not None:
        audio.latency_ms = pipeline.video_latency_ms
        audio.on_delay = pipeline.stats.set_audio_delay
        audio.on_video_hold = lambda ms: setattr(pipeline, "release_after_ms", ms)
    stop_timer = threading.Timer(args.duration, pipeline.stop) if args.duration else None
    stopped_by: list[int] = []

    def on_signal(signum: int) -> None:  # SIGINT, SIGTERM, SIGHUP: stop as at the end of --duration
        stopped_by.append(signum)
        pipeline.stop()

    try:
        with calling_on_stop_signals(on_signal):
            if audio is not None:
                audio.start()
            pipeline.start()
            if stop_timer:
                stop_timer.daemon = True
                stop_timer.start()
            pipeline.wait()
    except BackdropError:
        raise
    except Exception as exc:  # the source's or a stage's bug: one line, not a traceback
        raise _failure(args.camera, exc) from exc
    finally:
        if stop_timer:
            stop_timer.cancel()
        pipeline.segmenter.close()
        segmenter.close()  # the one it started with, if auto switched (closing twice is safe)
        if audio is not None:
            audio.close()  # after the outputs: recordings take the audio up to their last frame
    final = pipeline.stats.snapshot()
    how = f"by {signal_name(stopped_by[0])} " if stopped_by else ""
    print(f"backdrop: stopped {how}after {final.elapsed_s:.1f} s: {final.frames_out} frames out, "
          f"{final.dropped} dropped", file=sys.stderr)
    return exit_status(stopped_by[0]) if stopped_by else 0
