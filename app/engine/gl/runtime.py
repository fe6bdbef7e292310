"""The GL thread: one named thread ("backdrop-gl") that holds one context current and runs
the work other threads hand it with `GlRuntime.call`; the protocols a context provider
meets; GlUnavailable, raised when no context can be had.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from app.engine.core.errors import BackdropError

log = logging.getLogger("backdrop.gl")
T = TypeVar("T")

SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer")


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


def one_line(exc: BaseException) -> str:
    """A short reason for a GL or EGL failure (PyOpenGL's EGLError prints over many lines)."""
    if isinstance(exc, GlUnavailable):
        return str(exc)
    operation = getattr(getattr(exc, "baseOperation", None), "__name__", None)
    code = getattr(exc, "err", None)
    if operation:
        return f"{operation} failed ({str(code).split()[0] if code is not None else '?'})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


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
            raise error if isinstance(error, GlUnavailable) else GlUnavailable(one_line(error))

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

