"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from app.engine.compositing.choose import KINDS as COMPOSITORS
from app.engine.core.errors import SettingsError
from app.engine.live.settings import LiveSettings
from app.engine.matting.presets import AUTO, PRESET_NAMES, PRESETS, MatteSettings

SIZE_RANGE = (16, 7680)  # pixels, each side (as live mode's `size` declares)
FPS_RANGE = (1.0, 120.0)
MAX_DURATION_S = 24 * 3600.0


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for WxH."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w > 0 and h > 0:
            return w, h
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}")


def _show(value: float) -> str:
    return f"{value:g}"


class InRange(argparse.Action):
    """Stores a number (or each number of a tuple, as from `size_arg`) only if it lies in
    `low..high` (above `low` when `low_open`); else raises SettingsError, one line naming the
    option, the value and the range (exit 2 via app/cli.py)."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, low: float, high: float,
                 low_open: bool = False, **kwargs) -> None:
        self.low, self.high, self.low_open = low, high, low_open
        super().__init__(option_strings, dest, **kwargs)

    def describe(self) -> str:
        """The range in words, e.g. `1..120` or `> 0 and <= 86400`."""
        if self.low_open:
            return f"> {_show(self.low)} and <= {_show(self.high)}"
        return f"{_show(self.low)}..{_show(self.high)}"

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        numbers = values if isinstance(values, tuple) else (values,)
        for n in numbers:
            inside = (self.low < n if self.low_open else self.low <= n) and n <= self.high
            if not inside:  # also catches nan
                name = max(self.option_strings, key=len)
                shown = "x".join(map(_show, numbers)) if isinstance(values, tuple) else _show(n)
                each = " each side" if isinstance(values, tuple) else ""
                raise SettingsError(f"{name} must be {self.describe()}{each}, got {shown}")
        setattr(namespace, self.dest, values)


def add_number(p: argparse.ArgumentParser | argparse._ArgumentGroup, *flags: str, kind: type = float,
               low: float, high: float, low_open: bool = False, help: str, **kwargs) -> None:
    """An option whose value must lie in `low..high` (see `InRange`); the range, and the
    default when there is one, are added to its --help text."""
    action = InRange([], "x", low=low, high=high, low_open=low_open)
    unit = " each side" if kind is size_arg else ""
    default = kwargs.get("default")
    shown = "" if default is None else (f", default {'x'.join(map(str, default))}" if isinstance(default, tuple)
                                        else ", default %(default)s")
    p.add_argument(*flags, type=kind, action=InRange, low=low, high=high, low_open=low_open,
                   help=f"{help} ({action.describe()}{unit}{shown})", **kwargs)


def add_size_option(p: argparse.ArgumentParser, help: str) -> None:
    """`--size WxH`, each side within SIZE_RANGE."""
    add_number(p, "--size", kind=size_arg, low=SIZE_RANGE[0], high=SIZE_RANGE[1], default=(1280, 720),
               metavar="WxH", help=help)


def add_fps_option(p: argparse.ArgumentParser, help: str) -> None:
    """`--fps N` within FPS_RANGE."""
    add_number(p, "--fps", low=FPS_RANGE[0], high=FPS_RANGE[1], default=30.0, help=help)


def add_duration_option(p: argparse.ArgumentParser, default: float | None, help: str) -> None:
    """`--duration SECONDS`, above 0 and at most MAX_DURATION_S."""
    add_number(p, "--duration", low=0.0, high=MAX_DURATION_S, low_open=True, default=default, help=help)


def add_matte_options(p: argparse.ArgumentParser, live: bool = False) -> None:
    """The matte controls every command that cuts people out accepts (defaults: MatteSettings;
    live mode also offers, and defaults to, "auto"). Ranges: those live mode declares."""
    d = MatteSettings()
    g = p.add_argument_group("matte")
    g.add_argument("--preset", choices=list(PRESET_NAMES if live else PRESETS), default=AUTO if live else d.preset,
                   help="quality/speed: the model and how finely edges are refined"
                        + ("; auto measures them here at start and takes the best that keeps up" if live else "")
                        + " (default %(default)s)")
    g.add_argument("--model", default=None,
                   help="general, landscape, rvm, u2netp, u2net, or a .tflite/.onnx path (default: the preset's choice; `backdrop models` lists them)")
    for flag, help in (("--smoothing", "steadiness on still parts, 0 = off; moving parts always follow"),
                       ("--threshold", "confidence at which a pixel counts as person"),
                       ("--softness", "width of the soft edge in confidence"),
                       ("--grow", "grow the person by N pixels (negative shrinks)"),
                       ("--feather", "blur the matte edge by N pixels")):
        field = getattr(LiveSettings, flag[2:])
        add_number(g, flag, low=field.lo, high=field.hi, default=getattr(d, flag[2:]), help=help)
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
