"""The GL objects a compositor owns, made once per role and size and reused: programs by
shader and defines, render targets, textures; `draw` runs one full-screen pass. Everything
here lives and dies on the GL thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.gl import shaders
from app.engine.gl.objects import GL, Owned, Program, RenderTarget, Texture, VertexArray
from app.engine.gl.runtime import GlRuntime


class GlResources:
    """Programs, targets and textures by role, deleted together by `delete`."""

    def __init__(self, runtime: GlRuntime) -> None:
        self.runtime = runtime
        self.owned = Owned()
        self.vao = self.owned.add(VertexArray(runtime))
        self.programs: dict[tuple, Program] = {}
        self.targets: dict[tuple, RenderTarget] = {}
        self.textures: dict[str, Texture] = {}
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)

    def delete(self) -> None:
        for obj in list(self.programs.values()) + list(self.targets.values()) + list(self.textures.values()):
            obj.delete()
        self.programs.clear()
        self.targets.clear()
        self.textures.clear()
        self.owned.delete_all()

    def program(self, fragment: str, defines: dict[str, object]) -> Program:
        key = (fragment, tuple(sorted(defines.items())))
        prog = self.programs.get(key)
        if prog is None:
            prog = self.programs[key] = shaders.program(self.runtime, fragment, defines)
        return prog

    def target(self, role: str, size: tuple[int, int], internal: int = GL.GL_RGBA8,
               linear: bool = False) -> RenderTarget:
        key = (role, size, internal, linear)
        t = self.targets.get(key)
        if t is None:
            t = self.targets[key] = RenderTarget(self.runtime, size, internal, linear=linear)
        return t

    def texture(self, role: str, size: tuple[int, int], internal: int, linear: bool = False) -> Texture:
        t = self.textures.get(role)
        if t is None or t.size != size or t.internal != internal:
            if t is not None:
                t.delete()
            t = self.textures[role] = Texture(self.runtime, size, internal, linear=linear)
        return t

    def draw(self, fragment: str, defines: dict[str, object], target: RenderTarget,
             textures: dict[str, Texture] | None = None, **uniforms: Any) -> RenderTarget:
        prog = self.program(fragment, defines)
        prog.use()
        for unit, (name, tex) in enumerate((textures or {}).items()):
            tex.bind(unit)
            prog.set_int(name, unit)
        for name, value in uniforms.items():
            if isinstance(value, np.ndarray):
                prog.set_floats(name, value)
            elif isinstance(value, tuple) and isinstance(value[0], int):
                loc = GL.glGetUniformLocation(prog.id, name)
                if loc >= 0:
                    GL.glUniform2i(loc, *value)
            elif isinstance(value, int):
                prog.set_int(name, value)
            elif isinstance(value, tuple):
                prog.set_float(name, *value)
            else:
                prog.set_float(name, value)
        target.bind()
        self.vao.draw_fullscreen()
        return target

    def drop_targets(self) -> None:
        """Delete every render target (their sizes follow the frame's)."""
        for t in self.targets.values():
            t.delete()
        self.targets.clear()
