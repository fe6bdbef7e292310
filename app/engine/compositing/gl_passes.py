"""One frame on the GL thread: upload the frame and its matte, make the reduced-size maps
the background and the effects need, composite, read back packed RGB (RGBA when
transparent). A still background and the maps made from it are kept between frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.compositing.effects import CompositeSettings, colour_gain
from app.engine.compositing.gl_resources import GlResources
from app.engine.gl.objects import GL, RenderTarget, Texture
from app.engine.gl.runtime import GlRuntime
from app.engine.imaging.blur import Level, gaussian_weights, plan_level, scaled

BG_COLOUR, BG_PICTURE, BG_SCALED, BG_NONE = 0, 1, 2, 3
MAX_RADIUS = 63  # taps each side that lib/gaussian.glsl holds


@dataclass
class Job:
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


class FramePasses(GlResources):
    """Everything GL the compositor owns, and the passes that make one frame."""

    def __init__(self, runtime: GlRuntime) -> None:
        super().__init__(runtime)
        self.frame_size: tuple[int, int] | None = None
        self.picture: np.ndarray | None = None  # the still background now uploaded
        self.levels_cache: RenderTarget | None = None
        self.video: Texture | None = None  # the texture holding video_array, the picture uploaded
        self.video_array: np.ndarray | None = None
        self.cache: dict[str, Level | None] = {}  # maps made from that picture, by effect level

    def _resize(self, size: tuple[int, int]) -> None:
        if size != self.frame_size:
            self.drop_targets()
            self.frame_size, self.picture = size, None
            self.cache.clear()

    # -- one frame ---------------------------------------------------------------------------
    def run(self, job: Job) -> np.ndarray:
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

    def _blur(self, levels: _Levels, level: Level) -> Texture:
        return self._gaussian(levels.get(level.depth).texture, level.size, level.sigma, "blur", GL.GL_RGBA8).texture

    def _edge(self, frame_level: RenderTarget, fx: Level) -> Texture:
        return self._gaussian(frame_level.texture, fx.size, fx.sigma, "edge", GL.GL_RGBA8,
                              first={"PREMULTIPLY": True}, second={"UNPREMULTIPLY": True}).texture

    def _background_level(self, job: Job, fx: Level, defines: dict, textures: dict, uniforms: dict) -> RenderTarget:
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

    def _light(self, bg_level: RenderTarget, fx: Level, job: Job) -> Texture:
        """The background blurred at the effect level, for light wrap."""
        still = job.mode == BG_PICTURE or job.video is not None
        if still and self.cache.get("light") == fx:
            return self.target("light", fx.size, GL.GL_RGBA8, linear=True).texture
        texture = self._gaussian(bg_level.texture, fx.size, fx.sigma, "light", GL.GL_RGBA8).texture
        self.cache["light"] = fx if still else None
        return texture

    def _gain(self, frame_level: RenderTarget, bg_level: RenderTarget | None, job: Job) -> np.ndarray:
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

    def __init__(self, state: FramePasses, defines: dict[str, object], inputs: dict[str, Texture],
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
