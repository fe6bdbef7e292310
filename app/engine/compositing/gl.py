"""The GL compositor: the same picture as the CPU reference (app.engine.compositor), made
with the shaders in shaders/ on the GL thread.

Per frame: upload the frame (packed RGB, a plain copy) and the matte at its own size, make
the reduced-size maps the background and effects need, composite, and read back packed RGB
(or RGBA when transparent). Textures and framebuffers are made once per size and reused;
a still background is uploaded once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

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
from app.engine.compositing.effects import CompositeSettings, colour_gain
from app.engine.gl import context, shaders
from app.engine.gl.objects import GL, Owned, Program, RenderTarget, Texture, VertexArray
from app.engine.imaging.blur import (
    Level,
    gaussian_weights,
    plan_level,
    scaled,
    upsample,
)

BG_COLOUR, BG_PICTURE, BG_SCALED, BG_NONE = 0, 1, 2, 3
MAX_RADIUS = 63  # taps each side that lib/gaussian.glsl holds


@dataclass
class _Job:
    """One frame's work, prepared on the caller's thread."""

    frame: np.ndarray
    alpha: np.ndarray
    settings: CompositeSettings
    mode: int
    seconds: float
    colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
    picture: np.ndarray | None = None
    blur_radius: float = 0.0
    scene: Any = None  # a ShaderBackground
    video: np.ndarray | None = None  # a video's own picture, scaled here
    placement: tuple[float, float, float, float] | None = None  # x, y, w, h of a scaled background


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
            self._state = self.runtime.call(_State, self.runtime)
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

    def _job(self, frame: np.ndarray, alpha: np.ndarray, background: Background, seconds: float) -> _Job:
        background = resolve(background)
        job = _Job(frame, alpha, replace(self.settings), BG_NONE, seconds)
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


def _release(runtime: context.GlRuntime, state: "_State") -> None:
    if runtime.alive:
        runtime.call(state.delete)
    context.release(runtime)


class _State:
    """Everything GL the compositor owns. Lives and dies on the GL thread."""

    def __init__(self, runtime: context.GlRuntime) -> None:
        self.runtime = runtime
        self.owned = Owned()
        self.vao = self.owned.add(VertexArray(runtime))
        self.programs: dict[tuple, Program] = {}
        self.targets: dict[tuple, RenderTarget] = {}
        self.textures: dict[str, Texture] = {}
        self.frame_size: tuple[int, int] | None = None
        self.picture: np.ndarray | None = None  # the still background now uploaded
        self.levels_cache: RenderTarget | None = None
        self.video: Texture | None = None  # the texture holding video_array, the picture uploaded
        self.video_array: np.ndarray | None = None
        self.cache: dict[str, Level | None] = {}  # maps made from that picture, by effect level
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)

    # -- resources -------------------------------------------------------------------------
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

    def _resize(self, size: tuple[int, int]) -> None:
        if size != self.frame_size:
            for t in self.targets.values():
                t.delete()
            self.targets.clear()
            self.frame_size, self.picture = size, None
            self.cache.clear()

    # -- one frame ---------------------------------------------------------------------------
    def run(self, job: _Job) -> np.ndarray:
        h, w = job.frame.shape[:2]
        self._resize((w, h))
        packed = w % 4 == 0
        s = job.settings
        base: dict[str, object] = {"PACKED": True} if packed else {}

        frame_tex = self.texture("frame", (w * 3 // 4, h) if packed else (w, h), GL.GL_RGBA8)
        frame_tex.upload(job.frame, GL.GL_RGBA if packed else GL.GL_RGB)
        ah, aw = job.alpha.shape
        if packed and (aw, ah) == (w, h) and s.feather <= 0:  # four matte pixels per texel, as is
            alpha_tex = self.texture("alpha", (w // 4, h), GL.GL_RGBA8)
            alpha_tex.upload(job.alpha, GL.GL_RGBA)
            base["ALPHA_PACKED"] = True
        else:
            alpha_tex = self.texture("alpha", (aw, ah), GL.GL_R8, linear=True)
            alpha_tex.upload(job.alpha, GL.GL_RED)
            if s.feather > 0:
                alpha_tex = self._feather(alpha_tex, scaled(s.feather, ah) / 2.0)
            if (aw, ah) != (w, h):
                base["ALPHA_SCALED"] = True
        inputs = {"frame_tex": frame_tex, "alpha_tex": alpha_tex}
        levels = _Levels(self, dict(base, SOURCE=0), inputs, (w, h))

        bg_tex: Texture | None = None
        flip = 0.0
        if job.mode == BG_PICTURE:
            bg_tex = self.texture("picture", frame_tex.size, GL.GL_RGBA8)
            if job.picture is not self.picture:
                bg_tex.upload(job.picture, GL.GL_RGBA if packed else GL.GL_RGB)
                self.picture = job.picture
                self.cache.clear()
        elif job.mode == BG_SCALED and job.scene is not None:
            bg_tex, flip = job.scene.gl_texture((w, h), job.seconds).texture, 1.0
        elif job.mode == BG_SCALED and job.video is not None:
            vh, vw = job.video.shape[:2]
            bg_tex = self.texture("video", (vw, vh), GL.GL_RGBA8, linear=True)
            if self.video_array is not job.video or self.video is not bg_tex:
                bg_tex.upload(job.video, GL.GL_RGB)
                self.video, self.video_array = bg_tex, job.video
                self.cache.clear()
        elif job.mode == BG_SCALED:
            bg_tex = self._blur(levels, plan_level((w, h), job.blur_radius))
        bg_inputs = dict(inputs, bg_tex=bg_tex) if bg_tex is not None else dict(inputs)
        bg_defines = dict(base, BG_MODE=job.mode)
        x, y, pw, ph = job.placement or (0, 0, w, h)
        if x > 0 or y > 0:
            bg_defines["BG_BARS"] = True  # contain: black around the picture
        bg_uniforms = {"bg_colour": job.colour, "bg_flip": flip, "out_size": (float(w), float(h)),
                       "bg_origin": (float(x), float(y)), "bg_extent": (float(pw), float(ph))}

        effects: dict[str, object] = {}
        textures = dict(bg_inputs)
        uniforms: dict[str, Any] = dict(bg_uniforms)
        has_bg = job.mode != BG_NONE
        if s.needs_edge or (s.colour_match > 0 and has_bg):
            fx = plan_level((w, h), scaled(s.wrap_radius, h))
            frame_level = levels.get(fx.depth)
            if s.needs_edge:
                textures["edge_tex"] = self._edge(frame_level, fx)
                if s.spill > 0:
                    effects["SPILL"] = True
                    uniforms["spill_strength"] = s.spill
            bg_level = None
            if has_bg and job.mode != BG_COLOUR and (s.light_wrap > 0 or s.colour_match > 0):
                bg_level = self._background_level(job, fx, bg_defines, bg_inputs, bg_uniforms)
            if s.light_wrap > 0 and has_bg:
                effects["LIGHT_WRAP"] = True
                uniforms["wrap_strength"] = s.light_wrap
                if bg_level is not None:
                    textures["light_tex"] = self._light(bg_level, fx, job)
            if s.colour_match > 0 and has_bg:
                effects["COLOUR_MATCH"] = True
                uniforms["colour_gain"] = tuple(self._gain(frame_level, bg_level, job))

        defines = dict(bg_defines, **effects)
        if bg_tex is not None and job.mode == BG_SCALED and 3 * bg_tex.size[0] <= w:
            defines["ONE_TAP"] = True
        if job.mode != BG_NONE and packed:  # four bytes of RGB per fragment, read back as is
            out = self.draw("passes/composite_packed.frag", defines, self.target("packed", frame_tex.size),
                            textures, **uniforms)
            return out.read(np.empty((h, w, 3), np.uint8), GL.GL_RGBA)
        out = self.draw("passes/composite.frag", defines, self.target("out", (w, h)), textures, **uniforms)
        if job.mode == BG_NONE:
            return out.read(np.empty((h, w, 4), np.uint8), GL.GL_RGBA)
        return out.read(np.empty((h, w, 3), np.uint8), GL.GL_RGB)

    # -- passes --------------------------------------------------------------------------------
    def _gaussian(self, src: Texture, size: tuple[int, int], sigma: float, role: str, out_format: int,
                  first: dict[str, object] | None = None, second: dict[str, object] | None = None,
                  fragment: str = "effects/background_blur.frag", mid_format: int = GL.GL_RGBA16F) -> RenderTarget:
        weights = gaussian_weights(sigma)[:MAX_RADIUS + 1]
        padded = np.zeros(64, np.float32)
        padded[:len(weights)] = weights
        radius = len(weights) - 1
        mid = self.draw(fragment, first or {}, self.target(role + ":h", size, mid_format), {"src": src},
                        direction=(1, 0), radius=radius, weights=padded)
        return self.draw(fragment, second or {}, self.target(role, size, out_format, linear=True),
                         {"src": mid.texture}, direction=(0, 1), radius=radius, weights=padded)

    def _feather(self, alpha: Texture, sigma: float) -> Texture:
        if sigma < 0.25:
            return alpha
        return self._gaussian(alpha, alpha.size, sigma, "feather", GL.GL_R8,
                              fragment="effects/edge_feather.frag", mid_format=GL.GL_R16F).texture

    def _blur(self, levels: "_Levels", level: Level) -> Texture:
        return self._gaussian(levels.get(level.depth).texture, level.size, level.sigma, "blur", GL.GL_RGBA8).texture

    def _edge(self, frame_level: RenderTarget, fx: Level) -> Texture:
        return self._gaussian(frame_level.texture, fx.size, fx.sigma, "edge", GL.GL_RGBA8,
                              first={"PREMULTIPLY": True}, second={"UNPREMULTIPLY": True}).texture

    def _background_level(self, job: _Job, fx: Level, defines: dict, textures: dict, uniforms: dict) -> RenderTarget:
        """The background at the effect level (a still picture's is made once)."""
        still = job.mode == BG_PICTURE or job.video is not None  # maps change only with the picture
        if still and self.cache.get("bglevel") == fx:
            return self.levels_cache
        if job.mode == BG_SCALED and fx.depth > 0:
            level = self.draw("passes/downsample.frag", dict(defines, SOURCE=1, SAMPLED=True),
                              self.target("bglevel", fx.size), textures, level_size=tuple(map(float, fx.size)),
                              **uniforms)
        else:
            level = _Levels(self, dict(defines, SOURCE=1), textures, fx.sizes[0], "bglevel").get(fx.depth)
        self.levels_cache = level
        self.cache["bglevel"] = fx if still else None
        return level

    def _light(self, bg_level: RenderTarget, fx: Level, job: _Job) -> Texture:
        """The background blurred at the effect level, for light wrap."""
        still = job.mode == BG_PICTURE or job.video is not None
        if still and self.cache.get("light") == fx:
            return self.target("light", fx.size, GL.GL_RGBA8, linear=True).texture
        texture = self._gaussian(bg_level.texture, fx.size, fx.sigma, "light", GL.GL_RGBA8).texture
        self.cache["light"] = fx if still else None
        return texture

    def _gain(self, frame_level: RenderTarget, bg_level: RenderTarget | None, job: _Job) -> np.ndarray:
        h = frame_level.size[1]
        rows = self.draw("passes/stats.frag", {"ROWS": True}, self.target("rows", (2, h), GL.GL_RGBA32F),
                         {"frame_level": frame_level.texture, "bg_level": (bg_level or frame_level).texture})
        total = self.draw("passes/stats.frag", {}, self.target("sums", (2, 1), GL.GL_RGBA32F), {"rows": rows.texture})
        sums = total.read(np.empty((1, 2, 4), np.float32), GL.GL_RGBA, GL.GL_FLOAT)[0].astype(np.float64)
        bg_mean = np.array(job.colour) if bg_level is None else sums[1, :3] / max(sums[1, 3], 1.0)
        return colour_gain(sums[0, :3], sums[0, 3], bg_mean, job.settings.colour_match)


class _Levels:
    """The frame and its matte (SOURCE 0) or the background (SOURCE 1) reduced level by
    level, each made on first need in a frame: rgb = picture, a = matte (or 1)."""

    def __init__(self, state: _State, defines: dict[str, object], inputs: dict[str, Texture],
                 size: tuple[int, int], role: str = "level") -> None:
        self.state, self.defines, self.inputs, self.size, self.role = state, defines, inputs, size, role
        self.made: dict[int, RenderTarget] = {}
        self.uniforms = {"out_size": (float(size[0]), float(size[1]))}

    def get(self, depth: int) -> RenderTarget:
        """Level `depth` (0 = a full-size copy, 1 = half size, ...)."""
        if depth in self.made:
            return self.made[depth]
        w, h = self.size
        for _ in range(depth):  # the same sizes as repeated halving: w // 2 // 2 ...
            w, h = w // 2, h // 2
        size = (w, h)
        source = dict(self.defines, BG_MODE=self.defines.get("BG_MODE", BG_NONE))
        target = self.state.target(f"{self.role}{depth}", size)
        if depth == 0:
            self.state.draw("passes/downsample.frag", dict(source, COPY=True), target, self.inputs, **self.uniforms)
        elif depth == 1:
            self.state.draw("passes/downsample.frag", source, target, self.inputs, **self.uniforms)
        elif depth == 2:
            self.state.draw("passes/downsample.frag", dict(source, QUARTER=True), target, self.inputs, **self.uniforms)
        else:
            self.state.draw("passes/downsample.frag", {"SOURCE": 2, "BG_MODE": BG_NONE}, target,
                            {"src": self.get(depth - 1).texture})
        self.made[depth] = target
        return target
