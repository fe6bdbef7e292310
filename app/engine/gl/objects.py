"""GL objects (programs, textures, framebuffers, vertex arrays), each owned by one Python
object that deletes it once, on the GL thread; `delete()` is idempotent and does nothing
once the context has gone.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable

import numpy as np

from app.engine.gl.context import ensure_platform
from app.engine.gl.runtime import GlRuntime

ensure_platform()  # before the first OpenGL import: see docs/gl.md
from OpenGL import GL  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_1_0 import glReadPixels as _raw_read_pixels  # noqa: E402
from OpenGL.raw.GL.VERSION.GL_1_1 import glTexSubImage2D as _raw_tex_sub_image  # noqa: E402

# internal format -> (pixel format, pixel type, bytes per pixel) used to allocate it
FORMATS = {
    GL.GL_R8: (GL.GL_RED, GL.GL_UNSIGNED_BYTE),
    GL.GL_RGBA8: (GL.GL_RGBA, GL.GL_UNSIGNED_BYTE),
    GL.GL_R16F: (GL.GL_RED, GL.GL_FLOAT),
    GL.GL_RGBA16F: (GL.GL_RGBA, GL.GL_FLOAT),
    GL.GL_RGBA32F: (GL.GL_RGBA, GL.GL_FLOAT),
}
CHANNELS = {GL.GL_RED: 1, GL.GL_RGB: 3, GL.GL_RGBA: 4}


class GlObject:
    """Base of owned GL objects: remembers the runtime it was made in."""

    def __init__(self, runtime: GlRuntime) -> None:
        self.runtime = runtime
        self.id = 0

    def delete(self) -> None:
        if self.id and self.runtime.alive:
            self._delete()
        self.id = 0

    def _delete(self) -> None:
        raise NotImplementedError


class Texture(GlObject):
    """A 2D texture of fixed size and internal format; `linear` sets bilinear sampling."""

    def __init__(self, runtime: GlRuntime, size: tuple[int, int], internal: int, *, linear: bool = False) -> None:
        super().__init__(runtime)
        self.size, self.internal = size, internal
        fmt, kind = FORMATS[internal]
        self.id = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.id)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, internal, size[0], size[1], 0, fmt, kind, None)
        filt = GL.GL_LINEAR if linear else GL.GL_NEAREST
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, filt)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, filt)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)

    def upload(self, array: np.ndarray, fmt: int) -> None:
        """Replace the whole texture with `array` (uint8, C-contiguous, rows top first),
        given as `fmt` pixels (GL_RED, GL_RGB or GL_RGBA) of the texture's size."""
        if array.dtype != np.uint8 or not array.flags.c_contiguous:
            raise TypeError(f"upload needs C-contiguous uint8, got {array.dtype} contiguous={array.flags.c_contiguous}")
        w, h = self.size
        if array.size != w * h * CHANNELS[fmt]:
            raise ValueError(f"upload of {array.shape} into a {w}x{h} texture as {CHANNELS[fmt]} channels")
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.id)
        _raw_tex_sub_image(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, fmt, GL.GL_UNSIGNED_BYTE,
                           ctypes.c_void_p(array.ctypes.data))

    def bind(self, unit: int) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.id)

    def _delete(self) -> None:
        GL.glDeleteTextures([self.id])


class RenderTarget(GlObject):
    """A framebuffer object drawing into a texture it owns."""

    def __init__(self, runtime: GlRuntime, size: tuple[int, int], internal: int, *, linear: bool = False) -> None:
        super().__init__(runtime)
        self.texture = Texture(runtime, size, internal, linear=linear)
        self.size = size
        self.id = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.id)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self.texture.id, 0)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            self.delete()
            raise RuntimeError(f"framebuffer {size[0]}x{size[1]} format 0x{internal:x} incomplete (0x{status:x})")

    def bind(self) -> None:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.id)
        GL.glViewport(0, 0, self.size[0], self.size[1])

    def read(self, out: np.ndarray, fmt: int, kind: int = GL.GL_UNSIGNED_BYTE, width: int | None = None,
             height: int | None = None) -> np.ndarray:
        """Read the top-left `width` x `height` (default: all) into `out` (C-contiguous)."""
        w = self.size[0] if width is None else width
        h = self.size[1] if height is None else height
        if not out.flags.c_contiguous or out.nbytes < w * h * CHANNELS[fmt] * out.itemsize:
            raise ValueError(f"read of {w}x{h}x{CHANNELS[fmt]} into {out.shape} {out.dtype}")
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.id)
        _raw_read_pixels(0, 0, w, h, fmt, kind, ctypes.c_void_p(out.ctypes.data))
        return out

    def _delete(self) -> None:
        GL.glDeleteFramebuffers(1, [self.id])
        self.texture.delete()


class Program(GlObject):
    """A linked vertex + fragment program with cached uniform locations."""

    def __init__(self, runtime: GlRuntime, program_id: int, label: str) -> None:
        super().__init__(runtime)
        self.id, self.label = program_id, label
        self._locations: dict[str, int] = {}

    def use(self) -> None:
        GL.glUseProgram(self.id)

    def _loc(self, name: str) -> int:
        loc = self._locations.get(name)
        if loc is None:
            loc = self._locations[name] = GL.glGetUniformLocation(self.id, name)
        return loc

    def has(self, name: str) -> bool:
        return self._loc(name) >= 0

    def set_int(self, name: str, value: int) -> None:
        loc = self._loc(name)
        if loc >= 0:
            GL.glUniform1i(loc, int(value))

    def set_float(self, name: str, *values: float) -> None:
        """A float, vec2, vec3 or vec4 uniform; unknown (optimised-away) names are ignored."""
        loc = self._loc(name)
        if loc < 0:
            return
        setter = (GL.glUniform1f, GL.glUniform2f, GL.glUniform3f, GL.glUniform4f)[len(values) - 1]
        setter(loc, *(float(v) for v in values))

    def set_floats(self, name: str, values: Iterable[float]) -> None:
        """A float[] uniform from its first element."""
        loc = self._loc(name)
        if loc >= 0:
            data = np.ascontiguousarray(list(values), dtype=np.float32)
            GL.glUniform1fv(loc, len(data), data)

    def _delete(self) -> None:
        GL.glDeleteProgram(self.id)


class VertexArray(GlObject):
    """An empty vertex array: the full-screen triangle is made from gl_VertexID."""

    def __init__(self, runtime: GlRuntime) -> None:
        super().__init__(runtime)
        self.id = int(GL.glGenVertexArrays(1))

    def draw_fullscreen(self) -> None:
        GL.glBindVertexArray(self.id)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)

    def _delete(self) -> None:
        GL.glDeleteVertexArrays(1, [self.id])


class Owned:
    """A set of GL objects deleted together, once."""

    def __init__(self) -> None:
        self._objects: list[GlObject] = []

    def add(self, obj: GlObject) -> GlObject:
        self._objects.append(obj)
        return obj

    def delete_all(self) -> None:
        while self._objects:
            self._objects.pop().delete()
