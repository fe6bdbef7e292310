"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from app.engine.matte import MatteSettings


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for WxH."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w > 0 and h > 0:
            return w, h
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")


def add_matte_options(p: argparse.ArgumentParser) -> None:
    """The matte controls every command that cuts people out accepts."""
    g = p.add_argument_group("matte")
    g.add_argument("--model", default="general", help="general, landscape, or a path to a .tflite model")
    g.add_argument("--threshold", type=float, default=0.5, help="confidence at which a pixel counts as person (0..1)")
    g.add_argument("--softness", type=float, default=0.3, help="width of the soft edge in confidence (0..1)")
    g.add_argument("--grow", type=float, default=0.0, help="grow the person by N pixels (negative shrinks)")
    g.add_argument("--feather", type=float, default=2.0, help="blur the matte edge by N pixels")
    g.add_argument("--invert", action="store_true", help="keep the background, remove the person")


def matte_settings(args: argparse.Namespace) -> MatteSettings:
    """MatteSettings from the options of `add_matte_options`."""
    return MatteSettings(threshold=args.threshold, softness=args.softness, grow=args.grow,
                         feather=args.feather, invert=args.invert)
