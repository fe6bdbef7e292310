"""OpenGL for the engine, process-wide: which provider makes the context, and the one GL
thread (`runtime`), started on first use, held with `acquire`/`release` and ended with its
last holder or `shutdown`. `ensure_platform` binds PyOpenGL before OpenGL is first imported.
Design notes: docs/gl.md.
"""

from __future__ import annotations

import atexit
import logging
import threading

from app.engine.gl.egl import (
    EGL_PLATFORM_DEVICE_EXT,
    EGL_PLATFORM_SURFACELESS_MESA,
    EglContext,
    EglProvider,
    choose_egl_platform,
    pyopengl_platform,
)
from app.engine.gl.runtime import (
    SOFTWARE_RENDERERS,
    ContextProvider,
    GlContext,
    GlRuntime,
    GlUnavailable,
)

__all__ = ["EGL_PLATFORM_DEVICE_EXT", "EGL_PLATFORM_SURFACELESS_MESA", "SOFTWARE_RENDERERS", "ContextProvider",
           "EglContext", "EglProvider", "GlContext", "GlRuntime", "GlUnavailable", "acquire", "ensure_platform",
           "is_running", "release", "runtime", "set_provider", "shutdown", "unavailable_reason"]

log = logging.getLogger("backdrop.gl")


def ensure_platform() -> None:
    """Choose PyOpenGL's platform before OpenGL is first imported: the one the provider
    needs (EGL unless the panel registered its own). Modules that import OpenGL call this
    first; once OpenGL is imported, nothing changes."""
    if pyopengl_platform() is not None:
        return
    if (_provider or EglProvider).platform == "egl":
        choose_egl_platform()


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
