"""From a command-line SPEC or an installed background's name to a Background."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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

DEFAULT_BLUR = 24.0
MAX_BLUR = 200.0  # radius in pixels at 1080p; the panel's slider stops at 80


def parse_background(spec: str, fit: str = "cover") -> Background:
    """A background from a SPEC: `blur[:STRENGTH]`, `transparent`, a colour, a path to a
    photo, video or scene shader (.frag), or the name of an installed background (see
    `library`). Raises InputError (bad file) or SettingsError (bad SPEC)."""
    text = spec.strip()
    head, _, arg = text.partition(":")
    if head.lower() == "blur":
        try:
            strength = float(arg) if arg else DEFAULT_BLUR
        except ValueError:
            strength = float("nan")
        if not 0 < strength <= MAX_BLUR:  # also refuses nan
            raise SettingsError(f"background {spec!r}: blur strength must be > 0 and <= {MAX_BLUR:g} "
                                f"(pixels at 1080p; default {DEFAULT_BLUR:g})")
        return BlurBackground(strength)
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


def parse_still_background(spec: str, fit: str = "cover") -> Background:
    """`parse_background` for still photos: the same SPECs; a video background gives its
    first frame (its decoding thread is closed here), a scene is drawn at time 0 by its
    `render(photo, 0.0)`."""
    background = parse_background(spec, fit)
    if not isinstance(background, VideoBackground):
        return background
    try:
        w, h = background.source_size
        first = background.render(np.zeros((h, w, 3), np.uint8), 0.0).copy()
    finally:
        background.close()
    return ImageBackground(None, fit, image=first)
