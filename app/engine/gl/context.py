"""OpenGL for the engine: who provides a context, and the one thread that uses it.

All GL work in the engine runs on one named thread ("backdrop-gl") that holds the context
current; other threads hand it work with `GlRuntime.call`. That keeps every GL object on the
thread that made it, whichever thread runs the pipeline or closes a background.

The context comes from a provider. Headless (the CLI, tests, benchmarks) it is EGL without a
surface; the Qt panel can register its own provider with `set_provider` before first use
(a provider makes a context and makes it current on the GL thread: a QOpenGLContext with a
QOffscreenSurface, moved to that thread, fits). PyOpenGL binds to one windowing platform
per process when it is first imported, so the choice is made once, by `ensure_platform`:
it sets `PYOPENGL_PLATFORM=egl` only if nothing has imported OpenGL yet and no other provider
is registered, and every module here that imports OpenGL calls it first.

The GL thread runs while something holds it (`acquire`/`release`: compositors and scene
backgrounds do, while they own GL objects) and ends with its last holder.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from app.engine.core.errors import BackdropError

log = logging.getLogger("backdrop.gl")
T = TypeVar("T")

SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer")
EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_PLATFORM_DEVICE_EXT = 0x313F


class GlUnavailable(BackdropError):
    """No OpenGL context can be had in this process; str() says why."""


class GlContext(Protocol):
    """A context the provider made; used only on the GL thread."""

    def make_current(self) -> None: ...

    def close(self) -> None: ...


class ContextProvider(Protocol):
    """Makes the GL context. `platform` is the PyOpenGL platform it needs (None: PyOpenGL's
    own choice); `prepare` runs on the caller's thread before the GL thread starts and
    checks that platform; `create` runs on the GL thread."""

    name: str
    platform: str | None

    def prepare(self) -> None: ...

    def create(self) -> GlContext: ...


# -- EGL, headless ------------------------------------------------------------------------------
def _pyopengl_platform() -> str | None:
    """Name of the platform PyOpenGL has bound to, or None if it has not been imported."""
    module = sys.modules.get("OpenGL.platform")
    if module is None:
        return None
    return type(getattr(module, "PLATFORM", None)).__name__


def _one_line(exc: BaseException) -> str:
    """A short reason for an EGL failure (PyOpenGL's EGLError prints over many lines)."""
    if isinstance(exc, GlUnavailable):
        return str(exc)
    operation = getattr(getattr(exc, "baseOperation", None), "__name__", None)
    code = getattr(exc, "err", None)
    if operation:
        return f"{operation} failed ({str(code).split()[0] if code is not None else '?'})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


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


def ensure_platform() -> None:
    """Choose PyOpenGL's platform before OpenGL is first imported: the one the provider
    needs (EGL unless the panel registered its own). Modules that import OpenGL call this
    first; once OpenGL is imported, nothing changes."""
    if _pyopengl_platform() is not None:
        return
    wanted = (_provider or EglProvider).platform
    if wanted == "egl" and sys.platform.startswith("linux"):
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


class EglProvider:
    """Headless OpenGL through EGL: the first EGL device (a GPU without a display, or Mesa's
    software device), else Mesa's surfaceless platform, else the default display.
    `BACKDROP_EGL` = device | surfaceless | default picks one."""

    name = "egl"
    platform = "egl"

    def prepare(self) -> None:
        if not sys.platform.startswith("linux"):
            raise GlUnavailable(f"headless EGL is used on Linux only, not {sys.platform}")
        bound = _pyopengl_platform()
        if bound is None:
            ensure_platform()
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
                reasons.append(f"{how}: {_one_line(exc)}")
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


# -- the GL thread ------------------------------------------------------------------------------
class _Job:
    __slots__ = ("fn", "args", "done", "result", "error")

    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class GlRuntime:
    """One thread with one current GL context. `call(fn, *args)` runs fn there and returns
    its result (or raises its exception); calls from the GL thread itself run inline."""

    def __init__(self, provider: ContextProvider) -> None:
        self.provider = provider
        self.renderer = self.version = ""
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=16)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._closed = False
        self._context: GlContext | None = None
        provider.prepare()
        self._thread = threading.Thread(target=self._run, name="backdrop-gl", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            error = self._start_error
            raise error if isinstance(error, GlUnavailable) else GlUnavailable(_one_line(error))

    @property
    def software(self) -> bool:
        """True when the renderer is a CPU rasteriser (Mesa llvmpipe and the like)."""
        return any(name in self.renderer.lower() for name in SOFTWARE_RENDERERS)

    @property
    def alive(self) -> bool:
        return not self._closed

    def on_gl_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        try:
            self._context = self.provider.create()
            self._context.make_current()
            from OpenGL import GL

            self.renderer = GL.glGetString(GL.GL_RENDERER).decode(errors="replace")
            self.version = GL.glGetString(GL.GL_VERSION).decode(errors="replace")
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            job = self._jobs.get()
            if job is None:
                break
            try:
                job.result = job.fn(*job.args)
            except BaseException as exc:
                job.error = exc
            job.done.set()
        try:
            self._context.close()
        except Exception as exc:  # the process is going away; nothing to recover
            log.debug("closing the GL context failed: %s", exc)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.on_gl_thread():
            return fn(*args)
        if self._closed:
            raise GlUnavailable("the GL thread has been shut down")
        job = _Job(fn, args)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        """Stop the GL thread and destroy the context (every GL object goes with it). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        if not self.on_gl_thread():
            self._thread.join(timeout=5.0)


_lock = threading.Lock()
_provider: ContextProvider | None = None
_runtime: GlRuntime | None = None
_failure: GlUnavailable | None = None
_holders = 0  # owners of GL objects that hold the runtime (acquire/release)


def set_provider(provider: ContextProvider) -> None:
    """Use `provider` (a Qt context, say) instead of headless EGL. Call before first use."""
    global _provider, _failure
    with _lock:
        if _runtime is not None:
            raise RuntimeError("set_provider: the GL runtime has already started with "
                               f"{_runtime.provider.name}")
        _provider, _failure = provider, None


def runtime() -> GlRuntime:
    """The process's GL runtime, started on first use. Raises GlUnavailable (the same one
    on every later call) when no context can be had."""
    global _runtime, _failure
    with _lock:
        if _runtime is not None and _runtime.alive:
            return _runtime
        if _failure is not None:
            raise _failure
        provider = _provider or EglProvider()
        try:
            _runtime = GlRuntime(provider)
        except GlUnavailable as exc:
            _failure = GlUnavailable(f"{provider.name}: {exc}")
            raise _failure from None
        log.debug("OpenGL %s on %s via %s", _runtime.version, _runtime.renderer, provider.name)
        return _runtime


def acquire() -> GlRuntime:
    """The runtime, held until `release`: the GL thread ends when its last holder lets go
    (compositors and scene backgrounds hold it while they own GL objects)."""
    global _holders
    rt = runtime()
    with _lock:
        _holders += 1
    return rt


def release(rt: GlRuntime) -> None:
    """Let go of a runtime from `acquire`; the last holder's release stops the GL thread."""
    global _runtime, _holders
    with _lock:
        if rt is not _runtime:
            return  # already shut down (and perhaps restarted): nothing held any more
        _holders = max(0, _holders - 1)
        if _holders:
            return
        _runtime = None
    rt.close()


def is_running() -> bool:
    """True while a GL runtime is started in this process."""
    return _runtime is not None and _runtime.alive


def unavailable_reason() -> str | None:
    """None if a GL context can be had, else the reason. Starts the runtime to find out,
    and stops it again if it was not running and nobody holds it."""
    was_running = is_running()
    try:
        runtime()
    except GlUnavailable as exc:
        return str(exc)
    if not was_running and _holders == 0:
        shutdown()
    return None


def shutdown() -> None:
    """Stop the GL thread, if running, whoever holds it. A later `runtime()` starts a fresh one."""
    global _runtime, _holders
    with _lock:
        rt, _runtime, _holders = _runtime, None, 0
    if rt is not None:
        rt.close()


atexit.register(shutdown)
