"""A procedural scene: a fragment shader drawn on the GL thread."""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.backgrounds.image import ImageBackground
from app.engine.core.errors import InputError, SettingsError
from app.engine.gl import context
from app.engine.imaging.blur import upsample

log = logging.getLogger("backdrop.backgrounds")


class ShaderBackground:
    """A procedural scene: a fragment shader file with `time` (seconds) and `resolution`
    (pixels) uniforms, drawn each frame at `render_scale` of the frame's size on the GL
    thread. Without OpenGL it shows `fallback` (a still of the scene) when given.

    Raises ShaderError (an InputError) naming the file when it does not compile, and
    InputError when it cannot be read or needs OpenGL that is not there."""

    def __init__(self, path: Path, render_scale: float = 0.5, fallback: Path | None = None,
                 fit: str = "cover") -> None:
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
        from app.engine.gl.procedural import (
            SceneRenderer,  # imports OpenGL: only once a scene is used
        )

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
    if runtime.alive:
        runtime.call(renderer.delete)
    context.release(runtime)
