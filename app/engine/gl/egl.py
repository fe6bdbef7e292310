"""Headless OpenGL through EGL: `EglProvider` makes a surfaceless context on the first EGL
device, Mesa's surfaceless platform or the default display (`BACKDROP_EGL` picks one).
Imports OpenGL only when a context is made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from app.engine.gl.runtime import GlUnavailable, one_line

EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_PLATFORM_DEVICE_EXT = 0x313F


def pyopengl_platform() -> str | None:
    """Name of the platform PyOpenGL has bound to, or None if it has not been imported."""
    module = sys.modules.get("OpenGL.platform")
    if module is None:
        return None
    return type(getattr(module, "PLATFORM", None)).__name__


def choose_egl_platform() -> None:
    """Bind PyOpenGL to EGL when it is first imported (Linux; an explicit
    PYOPENGL_PLATFORM wins). Does nothing once OpenGL is imported."""
    if pyopengl_platform() is None and sys.platform.startswith("linux"):
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


class EglContext:
    """A surfaceless EGL context (render into framebuffer objects only)."""

    def __init__(self, display: Any, context: Any, how: str) -> None:
        self.display, self.context, self.how = display, context, how

    def make_current(self) -> None:
        from OpenGL import EGL

        if not EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, self.context):
            raise GlUnavailable(f"eglMakeCurrent failed (0x{EGL.eglGetError():x})")

    def close(self) -> None:
        from OpenGL import EGL

        EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(self.display, self.context)
        EGL.eglTerminate(self.display)



class EglProvider:
    """Headless OpenGL through EGL: the first EGL device (a GPU without a display, or Mesa's
    software device), else Mesa's surfaceless platform, else the default display.
    `BACKDROP_EGL` = device | surfaceless | default picks one."""

    name = "egl"
    platform = "egl"

    def prepare(self) -> None:
        if not sys.platform.startswith("linux"):
            raise GlUnavailable(f"headless EGL is used on Linux only, not {sys.platform}")
        bound = pyopengl_platform()
        if bound is None:
            choose_egl_platform()
            wanted = os.environ.get("PYOPENGL_PLATFORM", "")
            if wanted != "egl":
                raise GlUnavailable(f"PYOPENGL_PLATFORM={wanted} is set; headless OpenGL needs 'egl'")
        elif "EGL" not in bound:
            raise GlUnavailable(f"PyOpenGL is already bound to {bound} in this process; headless "
                                "OpenGL needs PYOPENGL_PLATFORM=egl before OpenGL is first imported")

    def create(self) -> EglContext:
        try:
            from OpenGL import EGL
        except Exception as exc:  # libEGL missing or unloadable
            raise GlUnavailable(f"cannot load libEGL ({exc}); install libegl1 libegl-mesa0 libgl1-mesa-dri") from None
        reasons = []
        wanted = os.environ.get("BACKDROP_EGL", "").strip().lower()
        for how, get_display in self._displays(EGL):
            if wanted and how != wanted:
                continue
            try:
                display = get_display()
                if not display:
                    reasons.append(f"{how}: no display")
                    continue
                return EglContext(display, self._context(EGL, display), how)
            except Exception as exc:
                reasons.append(f"{how}: {one_line(exc)}")
        raise GlUnavailable("no EGL display gave a context (" + "; ".join(reasons) + ")")

    @staticmethod
    def _displays(EGL: Any) -> list[tuple[str, Callable[[], Any]]]:
        try:
            client = (EGL.eglQueryString(EGL.EGL_NO_DISPLAY, EGL.EGL_EXTENSIONS) or b"").decode()
        except Exception:
            client = ""
        options: list[tuple[str, Callable[[], Any]]] = []
        if "EGL_EXT_platform_base" in client:
            from OpenGL.EGL.EXT.platform_base import eglGetPlatformDisplayEXT

            if "EGL_EXT_platform_device" in client:  # first: a GPU without a display, if any
                def device_display() -> Any:
                    from OpenGL.EGL.EXT.device_enumeration import eglQueryDevicesEXT

                    devices = (EGL.EGLDeviceEXT * 8)()
                    count = EGL.EGLint()
                    if not eglQueryDevicesEXT(8, devices, count) or count.value < 1:
                        return None
                    return eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, devices[0], None)

                options.append(("device", device_display))
            if "EGL_MESA_platform_surfaceless" in client:
                options.append(("surfaceless", lambda: eglGetPlatformDisplayEXT(
                    EGL_PLATFORM_SURFACELESS_MESA, EGL.EGL_DEFAULT_DISPLAY, None)))
        options.append(("default", lambda: EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)))
        return options

    @staticmethod
    def _context(EGL: Any, display: Any) -> Any:
        if not EGL.eglInitialize(display, None, None):
            raise GlUnavailable(f"eglInitialize failed (0x{EGL.eglGetError():x})")
        if not EGL.eglBindAPI(EGL.EGL_OPENGL_API):
            EGL.eglTerminate(display)
            raise GlUnavailable("EGL has no desktop OpenGL API")
        core = (EGL.EGLint * 7)(EGL.EGL_CONTEXT_MAJOR_VERSION, 3, EGL.EGL_CONTEXT_MINOR_VERSION, 3,
                                EGL.EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                EGL.EGL_NONE)
        configs = (EGL.EGLConfig * 1)()
        count = EGL.EGLint()
        attrs = (EGL.EGLint * 3)(EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT, EGL.EGL_NONE)
        ok = EGL.eglChooseConfig(display, attrs, configs, 1, count)
        config = configs[0] if ok and count.value > 0 else None  # else configless (Mesa allows it)
        context = EGL.eglCreateContext(display, config, EGL.EGL_NO_CONTEXT, core)
        if not context:
            EGL.eglTerminate(display)
            raise GlUnavailable(f"eglCreateContext for OpenGL 3.3 core failed (0x{EGL.eglGetError():x})")
        if not EGL.eglMakeCurrent(display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, context):
            error = EGL.eglGetError()
            EGL.eglDestroyContext(display, context)
            EGL.eglTerminate(display)
            raise GlUnavailable(f"eglMakeCurrent without a surface failed (0x{error:x})")
        return context
