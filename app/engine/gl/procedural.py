"""Procedural scenes: a fragment shader with `time` and `resolution` uniforms, drawn into a
texture on the GL thread. The compositor samples that texture directly; the CPU path reads
it back."""

from __future__ import annotations

import cv2
import numpy as np

from app.engine.gl import shaders
from app.engine.gl.objects import GL, RenderTarget, VertexArray
from app.engine.gl.runtime import GlRuntime


class SceneRenderer:
    """Draws one scene shader (`text`, named `label` in errors) at any size. GL thread only;
    compiling raises ShaderError with the compiler's message."""

    def __init__(self, runtime: GlRuntime, text: str, label: str) -> None:
        self.runtime, self.label = runtime, label
        self.program = shaders.link(runtime, shaders.load("lib/fullscreen.vert"), shaders.scene_source(text, label))
        self.vao = VertexArray(runtime)
        self.target: RenderTarget | None = None

    def render(self, size: tuple[int, int], seconds: float) -> RenderTarget:
        """The scene at `seconds`, `size` (w, h) pixels; rows bottom first, as GL draws."""
        if self.target is None or self.target.size != size:
            if self.target is not None:
                self.target.delete()
            self.target = RenderTarget(self.runtime, size, GL.GL_RGBA8, linear=True)
        self.target.bind()
        self.program.use()
        self.program.set_float("time", seconds)
        self.program.set_float("resolution", float(size[0]), float(size[1]))
        self.vao.draw_fullscreen()
        return self.target

    def read_rgb(self) -> np.ndarray:
        """The last rendered picture as RGB uint8, rows top first."""
        assert self.target is not None, "render() first"
        w, h = self.target.size
        rgba = self.target.read(np.empty((h, w, 4), np.uint8), GL.GL_RGBA)
        return cv2.flip(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), 0)

    def delete(self) -> None:
        if self.target is not None:
            self.target.delete()
        self.vao.delete()
        self.program.delete()
