"""From the model's low-resolution confidence to a full-resolution alpha matte (uint8).
`MatteRefiner(settings)` runs the temporal and edge stages and the user's controls, so every
caller gets the same matte from the same inputs; a photo gets the same matte as with
smoothing off. The path of a frame: docs/matting.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from app.engine.imaging.downscale import shrink
from app.engine.matting.edges import GuidedEdges
from app.engine.matting.presets import MatteSettings
from app.engine.matting.temporal import TemporalParams, TemporalStabiliser

WORK_WIDTH = 640  # default refinement width; grow/feather run at this size, then one upsample


class MatteStage(Protocol):
    """A refinement step (temporal stability, edge refinement).

    `size` says where it runs: "model" (on the confidence at the model's output size, before
    the upsample to work size) or "work" (after it). `process` receives the person
    confidence (uint8, 255 = surely person) and the frame's grey levels (uint8), both at
    that size, and returns a new confidence of the same shape; threshold, softness and
    invert are applied after all stages. `reset` forgets any state (called on a cut or
    source switch). Model-size stages run first, each group in list order.
    """

    size: str

    def process(self, alpha: np.ndarray, guide: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def default_stages(settings: MatteSettings) -> list[MatteStage]:
    """The stages the settings ask for: the temporal stabiliser at model size (if
    smoothing > 0), then edge refinement at work size (if the preset has it)."""
    preset = settings.preset_spec
    stages: list[MatteStage] = []
    if settings.smoothing > 0:
        stages.append(TemporalStabiliser(TemporalParams.from_strength(settings.smoothing, flow=preset.flow)))
    if preset.edges:
        stages.append(GuidedEdges())
    return stages


def confidence_lut(settings: MatteSettings) -> np.ndarray:
    """256-entry table mapping confidence (0..255) to alpha (0..255)."""
    conf = np.arange(256, dtype=np.float32) / 255.0
    half = max(settings.softness / 2.0, 0.5 / 255.0)
    alpha = np.clip((conf - (settings.threshold - half)) / (2.0 * half), 0.0, 1.0)
    if settings.invert:
        alpha = 1.0 - alpha
    return np.round(alpha * 255.0).astype(np.uint8)


def work_size(frame_size: tuple[int, int], max_width: int = WORK_WIDTH) -> tuple[int, int]:
    """The reduced size (width, height) at which the matte is refined."""
    w, h = frame_size
    if w <= max_width:
        return w, h
    return max_width, max(1, round(h * max_width / w))


def _ellipse(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


@dataclass
class MatteRefiner:
    """Confidence map (any size, float32 0..1) -> alpha (uint8) at the frame's size.

    With `stages=None` (the default) the stages come from `settings` (`default_stages`)
    and are rebuilt when the preset or smoothing changes; pass a list to use your own.
    Frames must come in order; call `reset()` on a source switch (cuts are also detected).
    Not thread-safe: one refiner per stream.
    """

    settings: MatteSettings = field(default_factory=MatteSettings)
    stages: list[MatteStage] | None = None

    def __post_init__(self) -> None:
        self._lut_key: tuple | None = None
        self._lut = np.zeros(256, np.uint8)
        self._own_stages = self.stages is None
        self._stage_key: tuple | None = None

    def _current_lut(self, s: MatteSettings) -> np.ndarray:
        key = (s.threshold, s.softness, s.invert)
        if key != self._lut_key:
            self._lut, self._lut_key = confidence_lut(s), key
        return self._lut

    def _current_stages(self, s: MatteSettings) -> list[MatteStage]:
        if not self._own_stages:
            return self.stages or []
        key = (s.preset, s.smoothing)
        if key != self._stage_key or self.stages is None:
            self.stages, self._stage_key = default_stages(s), key
        return self.stages

    def refine(self, confidence: np.ndarray, frame_rgb: np.ndarray) -> np.ndarray:
        """Alpha matte (HxW uint8, 255 = person) for `frame_rgb` from its confidence map."""
        s = self.settings  # one snapshot: a control panel may swap it between frames
        h, w = frame_rgb.shape[:2]
        ww, wh = work_size((w, h), s.preset_spec.work_width)
        conf = cv2.convertScaleAbs(confidence, alpha=255.0)
        stages = self._current_stages(s)
        guide = cv2.cvtColor(shrink(frame_rgb, (ww, wh)), cv2.COLOR_RGB2GRAY) if stages else None
        model_stages = [st for st in stages if getattr(st, "size", "work") == "model"]
        if model_stages:
            mh, mw = conf.shape[:2]
            small = guide if (mw, mh) == (ww, wh) else (
                shrink(guide, (mw, mh)) if mw <= ww and mh <= wh
                else cv2.resize(guide, (mw, mh), interpolation=cv2.INTER_LINEAR))
            for stage in model_stages:
                conf = stage.process(conf, small)
        if conf.shape[:2] != (wh, ww):
            conf = cv2.resize(conf, (ww, wh), interpolation=cv2.INTER_LINEAR)
        for stage in stages:
            if getattr(stage, "size", "work") != "model":
                conf = stage.process(conf, guide)
        alpha = cv2.LUT(conf, self._current_lut(s))
        scale = ww / w
        alpha = self._grow(alpha, s.grow * scale)
        alpha = self._feather(alpha, s.feather * scale)
        if (ww, wh) != (w, h):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        return alpha

    @staticmethod
    def _grow(alpha: np.ndarray, pixels: float) -> np.ndarray:
        radius = int(round(abs(pixels)))
        if radius == 0:
            return alpha
        op = cv2.dilate if pixels > 0 else cv2.erode
        return op(alpha, _ellipse(radius))

    @staticmethod
    def _feather(alpha: np.ndarray, radius: float) -> np.ndarray:
        if radius < 0.25:
            return alpha
        return cv2.GaussianBlur(alpha, (0, 0), sigmaX=radius / 2.0)

    def reset(self) -> None:
        """Forget temporal state in every stage."""
        for stage in self.stages or []:
            stage.reset()
