"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from app.engine.compositing.choose import KINDS as COMPOSITORS
from app.engine.core.errors import SettingsError
from app.engine.matting.presets import AUTO, PRESET_NAMES, PRESETS, MatteSettings


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for WxH."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w > 0 and h > 0:
            return w, h
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")


def add_matte_options(p: argparse.ArgumentParser, live: bool = False) -> None:
    """The matte controls every command that cuts people out accepts (defaults: MatteSettings;
    live mode also offers, and defaults to, "auto")."""
    d = MatteSettings()
    g = p.add_argument_group("matte")
    g.add_argument("--preset", choices=list(PRESET_NAMES if live else PRESETS), default=AUTO if live else d.preset,
                   help="quality/speed: the model and how finely edges are refined"
                        + ("; auto measures them here at start and takes the best that keeps up" if live else "")
                        + " (default %(default)s)")
    g.add_argument("--model", default=None,
                   help="general, landscape, rvm, u2netp, u2net, or a .tflite/.onnx path (default: the preset's choice; `backdrop models` lists them)")
    g.add_argument("--smoothing", type=float, default=d.smoothing,
                   help="steadiness on still parts, 0 (off) to 1 (default %(default)s); moving parts always follow")
    g.add_argument("--threshold", type=float, default=d.threshold,
                   help="confidence at which a pixel counts as person, 0..1 (default %(default)s)")
    g.add_argument("--softness", type=float, default=d.softness,
                   help="width of the soft edge in confidence, 0..1 (default %(default)s)")
    g.add_argument("--grow", type=float, default=d.grow, help="grow the person by N pixels (negative shrinks)")
    g.add_argument("--feather", type=float, default=d.feather, help="blur the matte edge by N pixels")
    g.add_argument("--invert", action="store_true", help="keep the background, remove the person")


def matte_settings(args: argparse.Namespace) -> MatteSettings:
    """MatteSettings from the options of `add_matte_options`."""
    return MatteSettings(threshold=args.threshold, softness=args.softness, grow=args.grow,
                         feather=args.feather, invert=args.invert, smoothing=args.smoothing,
                         preset=args.preset)


def add_compositor_option(p: argparse.ArgumentParser) -> None:
    """`--compositor auto|gl|cpu` (checked by `compositor_kind`, so a bad value is one line)."""
    p.add_argument("--compositor", default="auto", metavar="{" + ",".join(COMPOSITORS) + "}",
                   help="where to composite: GL (GPU) or CPU; auto picks GL on a hardware GPU")


def compositor_kind(args: argparse.Namespace) -> str:
    """The --compositor value; SettingsError (exit 2) unless it is one of auto, gl, cpu."""
    if args.compositor not in COMPOSITORS:
        raise SettingsError(f"--compositor must be one of {', '.join(COMPOSITORS)}, got {args.compositor!r}")
    return args.compositor
