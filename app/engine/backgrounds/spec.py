"""From a command-line SPEC or an installed background's name to a Background."""

from __future__ import annotations

from pathlib import Path

from app.engine.backgrounds import library
from app.engine.backgrounds.base import (
    Background,
    BlurBackground,
    ColourBackground,
    TransparentBackground,
    parse_colour,
)
from app.engine.backgrounds.image import ImageBackground
from app.engine.backgrounds.kinds import SHADER_EXTENSIONS, VIDEO_EXTENSIONS
from app.engine.backgrounds.shader import ShaderBackground
from app.engine.backgrounds.video import VideoBackground
from app.engine.core.errors import InputError, SettingsError
from app.engine.imaging.images import IMAGE_EXTENSIONS


def parse_background(spec: str, fit: str = "cover") -> Background:
    """A background from a SPEC: `blur[:STRENGTH]`, `transparent`, a colour, a path to a
    photo, video or scene shader (.frag), or the name of an installed background (see
    `library`). Raises InputError (bad file) or SettingsError (bad SPEC)."""
    text = spec.strip()
    head, _, arg = text.partition(":")
    if head.lower() == "blur":
        try:
            return BlurBackground(float(arg) if arg else 24.0)
        except ValueError:
            raise SettingsError(f"background {spec!r}: blur strength must be a positive number") from None
    if text.lower() in ("transparent", "none"):
        return TransparentBackground()
    colour = parse_colour(text)
    if colour is not None:
        return ColourBackground(colour)
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return ImageBackground(path, fit)
    if suffix in VIDEO_EXTENSIONS:
        return VideoBackground(path, fit)
    if suffix in SHADER_EXTENSIONS:
        return ShaderBackground(path, fit=fit)
    if not path.exists():
        entry = library.scan().find(text)
        if entry is not None:
            return open_entry(entry, fit)
        raise SettingsError(
            f"background {spec!r}: not a file, a colour (white, #RRGGBB), 'blur[:N]', 'transparent' "
            "or an installed background (`backdrop backgrounds` lists them)")
    raise InputError(f"{path}: unsupported background file type {suffix or '(none)'}")


def open_entry(entry: library.Entry, fit: str = "cover") -> Background:
    """The Background of an installed entry (raises InputError naming the file when it
    cannot be used)."""
    if entry.kind == "photo":
        return ImageBackground(entry.path, fit)
    if entry.kind == "video":
        return VideoBackground(entry.path, fit)
    return ShaderBackground(entry.path, entry.render_scale, entry.still, fit)
