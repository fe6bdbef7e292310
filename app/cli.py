"""The `backdrop` command line: process videos and frame folders, remove backgrounds from
photos, list devices."""

from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction
from pathlib import Path

from app.engine.errors import BackdropError, SettingsError

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".mov", ".webm"}
EXIT_ERROR = 1
EXIT_USAGE = 2


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w > 0 and h > 0:
            return w, h
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")


def _add_matte_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("matte")
    g.add_argument("--model", default="general", help="general, landscape, or a path to a .tflite model")
    g.add_argument("--threshold", type=float, default=0.5, help="confidence at which a pixel counts as person (0..1)")
    g.add_argument("--softness", type=float, default=0.3, help="width of the soft edge in confidence (0..1)")
    g.add_argument("--grow", type=float, default=0.0, help="grow the person by N pixels (negative shrinks)")
    g.add_argument("--feather", type=float, default=2.0, help="blur the matte edge by N pixels")
    g.add_argument("--invert", action="store_true", help="keep the background, remove the person")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backdrop", description="Replace the background behind a person.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="process a video file, a folder of frames, the demo or a camera")
    p.add_argument("input", help="video file, folder of frames, image, 'demo', or 'camera[:N]'")
    p.add_argument("output", help="video file (.mp4 .mkv .mov .webm) or a folder for a PNG sequence")
    p.add_argument("--background", "-b", default="blur",
                   help="blur[:STRENGTH], transparent, a colour (white, #RRGGBB), or a photo or video path")
    p.add_argument("--fit", choices=("cover", "contain", "stretch"), default="cover", help="how a photo or video background fills the frame")
    p.add_argument("--matte", action="store_true", help="write the alpha matte (grey) instead of the composite")
    p.add_argument("--size", type=_size, default=(1280, 720), help="frame size for demo and camera (WxH)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate for demo, camera and frame folders")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to take from the demo or a camera")
    p.add_argument("--overwrite", "-y", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    _add_matte_options(p)

    r = sub.add_parser("remove", help="remove the background from photos")
    r.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE_OR_FOLDER")
    r.add_argument("-o", "--outdir", type=Path, required=True, help="folder for the results (created if missing)")
    r.add_argument("--background", "-b", default="transparent", help="transparent, white, #RRGGBB, or a photo path")
    r.add_argument("--format", choices=("png", "jpg", "webp"), default="png")
    r.add_argument("--report", type=Path, help="write a CSV row per image with its confidence and review flag")
    r.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="processes to use (default: all cores)")
    r.add_argument("--overwrite", "-y", action="store_true", help="replace existing results")
    r.add_argument("--quiet", "-q", action="store_true")
    _add_matte_options(r)

    sub.add_parser("devices", help="list cameras, audio devices and the virtual camera")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's start-up chatter off the terminal
    from app import commands

    handler = {"process": commands.process, "remove": commands.remove, "devices": commands.devices}[args.command]
    try:
        return handler(args)
    except BackdropError as exc:
        print(f"backdrop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR
    except KeyboardInterrupt:
        print("backdrop: interrupted; unfinished outputs removed", file=sys.stderr)
        return 130
