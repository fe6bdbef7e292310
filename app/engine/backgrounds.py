"""What goes behind the person: blur of the real room, a colour, a photo, a looping video,
a procedural scene (a fragment shader), or nothing (transparent). `parse_background` turns
a command-line SPEC, or the name of an installed background, into one of these.

Every background renders an RGB uint8 image at the frame's size; work that depends only on
the size (scaling a photo, filling a colour) is done once per size, not per frame. The GL
compositor draws blur, colours and scenes itself and uploads the others' pictures.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.engine.effects import blur, halve_to, plan_level, upsample
from app.engine.errors import InputError, SettingsError
from app.engine.imaging import FITS, IMAGE_EXTENSIONS, MAX_IMAGE_SIDE, fit_image, load_image_rgb
from app.engine.video_background import VideoBackground

log = logging.getLogger("backdrop.backgrounds")
VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".gif"}
SHADER_EXTENSIONS = {".frag", ".glsl"}

NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "green": (0, 177, 64), "blue": (0, 71, 187), "red": (200, 16, 46),
}


class Background(Protocol):
    """Renders what replaces the room behind the person."""

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray | None:
        """RGB uint8 at the frame's size; None means transparent (alpha is kept)."""
        ...

    def close(self) -> None: ...


class TransparentBackground:
    """No background: the output keeps the matte as its alpha channel."""

    def render(self, frame_rgb: np.ndarray, seconds: float) -> None:
        return None

    def close(self) -> None:
        pass


class ColourBackground:
    """A solid colour."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        self.rgb = rgb
        self._cache: np.ndarray | None = None

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._cache is None or self._cache.shape != frame_rgb.shape:
            self._cache = np.empty_like(frame_rgb)
            self._cache[:] = self.rgb
        return self._cache

    def close(self) -> None:
        pass


class BlurBackground:
    """The real room, blurred. `strength` is the blur radius in pixels at 1080p; the blur
    runs at reduced resolution, so its cost barely grows with strength."""

    def __init__(self, strength: float = 24.0) -> None:
        if strength <= 0:
            raise SettingsError(f"blur strength must be > 0, got {strength}")
        self.strength = strength

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        h, w = frame_rgb.shape[:2]
        level = plan_level((w, h), self.strength * h / 1080.0)
        small = blur(halve_to(frame_rgb, level), level.sigma)
        return upsample(small, (w, h))

    def close(self) -> None:
        pass


class ImageBackground:
    """A photo, fitted to the frame once per frame size."""

    def __init__(self, path: Path, fit: str = "cover") -> None:
        if fit not in FITS:
            raise SettingsError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        self.path, self.fit = path, fit
        self._image = load_image_rgb(path, MAX_IMAGE_SIDE)
        self._cache: np.ndarray | None = None

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._cache is None or self._cache.shape != frame_rgb.shape:
            h, w = frame_rgb.shape[:2]
            self._cache = fit_image(self._image, (w, h), self.fit)
        return self._cache

    def close(self) -> None:
        pass


class ShaderBackground:
    """A procedural scene: a fragment shader file with `time` (seconds) and `resolution`
    (pixels) uniforms, drawn each frame at `render_scale` of the frame's size on the GL
    thread. Without OpenGL it shows `fallback` (a still of the scene) when given.

    Raises ShaderError (an InputError) naming the file when it does not compile, and
    InputError when it cannot be read or needs OpenGL that is not there."""

    def __init__(self, path: Path, render_scale: float = 0.5, fallback: Path | None = None,
                 fit: str = "cover") -> None:
        from app.engine.gl import context

        if not 0.0 < render_scale <= 1.0:
            raise SettingsError(f"{path}: render_scale must be within (0, 1], got {render_scale}")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read shader ({exc})") from None
        self.path, self.render_scale = path, render_scale
        self._renderer: Any = None
        self._still: ImageBackground | None = None
        try:
            self._runtime = context.acquire()
        except context.GlUnavailable as exc:
            if fallback is None:
                raise InputError(f"{path}: a procedural background needs OpenGL ({exc})") from None
            log.warning("%s: no OpenGL (%s); showing its still %s instead", path.name, exc, fallback.name)
            self._still = ImageBackground(fallback, fit)
            return
        from app.engine.gl.procedural import SceneRenderer

        try:
            self._renderer = self._runtime.call(SceneRenderer, self._runtime, text, str(path))
        except BaseException:
            context.release(self._runtime)
            raise
        self._finalizer = weakref.finalize(self, _delete_on_gl, self._runtime, self._renderer)

    @property
    def uses_gl(self) -> bool:
        """True when the scene is drawn live (else its still is shown)."""
        return self._renderer is not None

    def scaled_size(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        w, h = frame_size
        return max(1, round(w * self.render_scale)), max(1, round(h * self.render_scale))

    def gl_texture(self, frame_size: tuple[int, int], seconds: float) -> Any:
        """GL thread only: the scene drawn for `seconds` (a RenderTarget, rows bottom first)."""
        return self._renderer.render(self.scaled_size(frame_size), seconds)

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray:
        if self._still is not None:
            return self._still.render(frame_rgb, seconds)
        h, w = frame_rgb.shape[:2]
        small = self._runtime.call(self._draw_and_read, (w, h), seconds)
        return upsample(small, (w, h))

    def _draw_and_read(self, frame_size: tuple[int, int], seconds: float) -> np.ndarray:
        self.gl_texture(frame_size, seconds)
        return self._renderer.read_rgb()

    def close(self) -> None:
        """Delete the scene's GL objects. Idempotent."""
        if self._renderer is not None:
            self._finalizer()


def _delete_on_gl(runtime: Any, renderer: Any) -> None:
    from app.engine.gl import context

    if runtime.alive:
        runtime.call(renderer.delete)
    context.release(runtime)


class BackgroundSlot:
    """The background in use, which another thread (the panel) may switch while frames are
    made. `switch` loads the new one first: if that fails it raises and the previous one
    stays. The replaced one is closed by the next `render` (on the thread that renders)."""

    def __init__(self, background: Background) -> None:
        self._current = background
        self._retired: list[Background] = []
        self._lock = threading.Lock()

    @property
    def current(self) -> Background:
        """The background to use now; closes replaced ones (call from the rendering thread)."""
        with self._lock:
            retired, self._retired = self._retired, []
            current = self._current
        for old in retired:
            old.close()
        return current

    def switch(self, spec: str, fit: str = "cover") -> Background:
        new = parse_background(spec, fit)  # raises (naming the file) before anything changes
        with self._lock:
            self._retired.append(self._current)
            self._current = new
        return new

    def render(self, frame_rgb: np.ndarray, seconds: float) -> np.ndarray | None:
        return self.current.render(frame_rgb, seconds)

    def close(self) -> None:
        with self._lock:
            retired, self._retired = self._retired + [self._current], []
        for old in retired:
            old.close()


def resolve(background: Background) -> Background:
    """The background a slot holds now (or `background` itself)."""
    while isinstance(background, BackgroundSlot):
        background = background.current
    return background


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """`white`, `#RRGGBB` or `RRGGBB` as an RGB tuple; None if `text` is not a colour."""
    key = text.strip().lower()
    if key in NAMED_COLOURS:
        return NAMED_COLOURS[key]
    m = re.fullmatch(r"#?([0-9a-f]{6})", key)
    if m:
        v = int(m.group(1), 16)
        return (v >> 16) & 255, (v >> 8) & 255, v & 255
    return None


def parse_background(spec: str, fit: str = "cover") -> Background:
    """A background from a SPEC: `blur[:STRENGTH]`, `transparent`, a colour, a path to a
    photo, video or scene shader (.frag), or the name of an installed background (see
    `app.engine.library`). Raises InputError (bad file) or SettingsError (bad SPEC)."""
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
        from app.engine import library

        entry = library.scan().find(text)
        if entry is not None:
            return entry.open(fit)
        raise SettingsError(
            f"background {spec!r}: not a file, a colour (white, #RRGGBB), 'blur[:N]', 'transparent' "
            "or an installed background (`backdrop backgrounds` lists them)")
    raise InputError(f"{path}: unsupported background file type {suffix or '(none)'}")
