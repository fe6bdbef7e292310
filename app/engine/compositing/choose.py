"""Which compositor runs: GL on a hardware renderer, the CPU reference elsewhere."""

from __future__ import annotations

import logging
import os

from app.engine.compositing.base import Compositor
from app.engine.compositing.cpu import CpuCompositor
from app.engine.compositing.effects import CompositeSettings
from app.engine.core.errors import SettingsError
from app.engine.gl import context

log = logging.getLogger("backdrop.compositor")
KINDS = ("auto", "gl", "cpu")
AUTO_ENV = "BACKDROP_COMPOSITOR"  # "gl" or "cpu" overrides what "auto" picks
_auto_choice: str | None = None  # what "auto" picked, decided once per process


def _choose_auto() -> str:
    """"gl" on a hardware renderer, else "cpu" (logging why once)."""
    global _auto_choice
    if _auto_choice is None:
        was_running = context.is_running()
        try:
            rt = context.runtime()
        except context.GlUnavailable as exc:
            log.warning("no OpenGL (%s): using the CPU compositor", exc)
            _auto_choice = "cpu"
            return _auto_choice
        if rt.software:
            log.info("OpenGL renderer is %s (software): the CPU compositor is faster there", rt.renderer)
            _auto_choice = "cpu"
            if not was_running:
                context.shutdown()  # started only to ask: do not keep its thread
        else:
            _auto_choice = "gl"
    return _auto_choice


def make_compositor(kind: str = "auto", settings: CompositeSettings | None = None) -> Compositor:
    """A compositor of `kind`: "gl" (raises GlUnavailable if no OpenGL), "cpu", or "auto":
    GL on a hardware renderer, else the CPU one (one log line says why when there is no
    OpenGL at all). The environment variable BACKDROP_COMPOSITOR=gl|cpu overrides "auto"."""
    if kind not in KINDS:
        raise SettingsError(f"compositor must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "auto":
        forced = os.environ.get(AUTO_ENV, "").strip().lower()
        if forced and forced not in KINDS:
            raise SettingsError(f"{AUTO_ENV} must be one of {', '.join(KINDS)}, got {forced!r}")
        kind = forced if forced in ("gl", "cpu") else _choose_auto()
    if kind == "cpu":
        return CpuCompositor(settings)
    from app.engine.compositing.gl import (
        GlCompositor,  # imports OpenGL: only when GL is chosen
    )

    return GlCompositor(settings)
