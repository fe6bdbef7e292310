"""The GL compositor: the same picture as the CPU reference (compositing.cpu), made with
the shaders in shaders/ on the GL thread; same inputs and outputs as CpuCompositor.
Design notes: docs/compositing.md.
"""

from __future__ import annotations

import weakref
from dataclasses import replace

import numpy as np

from app.engine.backgrounds.base import (
    Background,
    BlurBackground,
    ColourBackground,
    TransparentBackground,
)
from app.engine.backgrounds.shader import ShaderBackground
from app.engine.backgrounds.slot import resolve
from app.engine.backgrounds.video import VideoBackground
from app.engine.compositing.base import check_inputs, with_alpha
from app.engine.compositing.effects import CompositeSettings
from app.engine.compositing.gl_passes import (
    BG_COLOUR,
    BG_NONE,
    BG_PICTURE,
    BG_SCALED,
    FramePasses,
    Job,
)
from app.engine.gl import context
from app.engine.imaging.blur import scaled, upsample

__all__ = ["GlCompositor"]


class GlCompositor:
    """Composites on the process's GL thread, which it holds until `close` (raises
    GlUnavailable if there is none). Same inputs and outputs as CpuCompositor."""

    name = "gl"

    def __init__(self, settings: CompositeSettings | None = None, runtime: context.GlRuntime | None = None) -> None:
        self.settings = settings or CompositeSettings()
        self.runtime = context.acquire()
        try:
            if runtime is not None and runtime is not self.runtime:
                raise ValueError("GlCompositor: that GL runtime is no longer the process's")
            self._state = self.runtime.call(FramePasses, self.runtime)
        except BaseException:
            context.release(self.runtime)
            raise
        self._finalizer = weakref.finalize(self, _release, self.runtime, self._state)

    def composite(self, frame_rgb: np.ndarray, alpha: np.ndarray, background: Background,
                  seconds: float) -> np.ndarray:
        check_inputs(frame_rgb, alpha)
        s = self.settings
        if s.spill <= 0 and s.feather <= 0 and isinstance(resolve(background), TransparentBackground):
            # the frame with the matte as alpha: nothing for GL to do but copy bytes both ways
            return with_alpha(frame_rgb, upsample(alpha, frame_rgb.shape[1::-1]))
        job = self._job(np.ascontiguousarray(frame_rgb), np.ascontiguousarray(alpha), background, seconds)
        return self.runtime.call(self._state.run, job)

    def _job(self, frame: np.ndarray, alpha: np.ndarray, background: Background, seconds: float) -> Job:
        background = resolve(background)
        job = Job(frame, alpha, replace(self.settings), BG_NONE, seconds)
        if isinstance(background, TransparentBackground):
            return job
        if isinstance(background, ColourBackground):
            job.mode, job.colour = BG_COLOUR, tuple(c / 255.0 for c in background.rgb)
        elif isinstance(background, BlurBackground):
            job.mode, job.blur_radius = BG_SCALED, scaled(background.strength, frame.shape[0])
        elif isinstance(background, ShaderBackground) and background.uses_gl:
            job.mode, job.scene = BG_SCALED, background
        elif isinstance(background, VideoBackground) and \
                (native := background.native(frame.shape[1::-1], seconds)) is not None:
            picture, (sw, sh, x, y) = native
            job.mode, job.video, job.placement = BG_SCALED, np.ascontiguousarray(picture), (x, y, sw, sh)
        else:
            picture = background.render(frame, seconds)
            if picture is not None:
                if picture.shape != frame.shape:
                    raise ValueError(f"background {picture.shape} does not match frame {frame.shape}")
                job.mode, job.picture = BG_PICTURE, np.ascontiguousarray(picture)
        return job

    def close(self) -> None:
        """Delete this compositor's GL objects (on the GL thread). Idempotent."""
        self._finalizer()


def _release(runtime: context.GlRuntime, state: FramePasses) -> None:
    if runtime.alive:
        runtime.call(state.delete)
    context.release(runtime)
