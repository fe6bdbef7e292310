"""Quality presets and the model policy: which model runs on what, and how finely edges are refined."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from app.engine.core.errors import SettingsError
from app.engine.matting.models.onnx import choose_providers

# Above this width/height ratio a frame is closer in shape to the landscape model's 256x144
# input than to the general model's 256x256 (4:3 is the geometric mean of 1:1 and 16:9).
LANDSCAPE_ASPECT = 4 / 3


@dataclass(frozen=True)
class Preset:
    """A quality/speed trade-off.

    model: which model the segmenter runs on video: a model name ("landscape", "rvm", ...)
        or "auto" (RVM where ONNX Runtime has a GPU, else the MediaPipe model nearer the
        frame's shape; see `choose_model`).
    work_width: the largest width at which the matte is refined.
    edges: snap the matte's edges to the picture's (GuidedEdges).
    flow: carry the temporal state along the image motion (optical flow) before blending.
    crop_model: in video, the model for the crop around a tracked person: "same" (the
        stream's model) or "auto" (the bundled model nearer the crop's shape: the general
        model for a standing person, sharper and slower; see `tracking`).
    """

    name: str
    model: str
    work_width: int
    edges: bool
    flow: bool
    crop_model: str = "same"


PRESETS: dict[str, Preset] = {
    "fast": Preset("fast", "landscape", 480, edges=False, flow=False),
    "balanced": Preset("balanced", "auto", 640, edges=True, flow=True),
    "quality": Preset("quality", "rvm", 960, edges=True, flow=True),
}


DEFAULT_PRESET = "balanced"
# "auto" (live mode's default) is not a preset of its own: at start live mode measures the
# candidates, best first, and runs the first that fits the frame budget (live/auto.py).
AUTO = "auto"
AUTO_CANDIDATES = ("quality", "balanced")
UNMEASURED_AUTO = "balanced"  # what "auto" refines like where nothing was measured (files)
PRESET_NAMES = (AUTO, *PRESETS)
PHOTO_MODEL = "rvm"  # photos of people, whatever the preset (figures: docs/matting.md)


def choose_model(model: str, frame_size: tuple[int, int]) -> str:
    """The model to run for a frame of `frame_size` (w, h) under a preset's model policy:
    "auto" runs RVM where ONNX Runtime has a GPU, else the MediaPipe model whose input shape
    is nearer the frame's ("landscape" when the frame is wider than 4:3, "general"
    otherwise); any other value is returned as it is."""
    if model != "auto":
        return model
    if gpu_present():
        return "rvm"
    return shape_model(frame_size)


def shape_model(frame_size: tuple[int, int]) -> str:
    """The bundled MediaPipe model nearer `frame_size`'s shape."""
    w, h = frame_size
    return "landscape" if w > h * LANDSCAPE_ASPECT + 1e-6 else "general"


@functools.cache
def gpu_present() -> bool:
    """Whether ONNX Runtime would run models on something other than the CPU here."""
    return choose_providers()[0] != "CPUExecutionProvider"


@dataclass
class MatteSettings:
    """User controls of the matte; lengths are in pixels at the frame's own resolution.

    threshold: confidence at which a pixel is half person, half background (0..1).
    softness: width of the confidence ramp around the threshold (0 = hard cut-out); the
        edge's soft band, after edge refinement, is about this share of its ramp (why the
        default is 0.7: docs/matting.md).
    grow: pixels to grow the person by (negative shrinks).
    feather: blur radius of the matte edge.
    invert: keep the background and remove the person.
    smoothing: temporal stabilisation strength, 0 (off) .. 1 (steadiest). It acts only
        where the picture is still; moving parts always follow the current frame.
    preset: "fast", "balanced" or "quality": the model policy, refinement resolution,
        edge refinement and motion compensation (see PRESETS); or "auto", which live mode
        resolves by measuring (`resolved`); unresolved it acts as UNMEASURED_AUTO.
    """

    threshold: float = 0.5
    softness: float = 0.7
    grow: float = 0.0
    feather: float = 0.0
    invert: bool = False
    smoothing: float = 0.8
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise SettingsError(f"threshold must be within 0..1, got {self.threshold}")
        if not 0.0 <= self.softness <= 1.0:
            raise SettingsError(f"softness must be within 0..1, got {self.softness}")
        if self.feather < 0:
            raise SettingsError(f"feather must be >= 0, got {self.feather}")
        if not 0.0 <= self.smoothing <= 1.0:
            raise SettingsError(f"smoothing must be within 0..1, got {self.smoothing}")
        if self.preset not in PRESET_NAMES:
            raise SettingsError(f"preset must be one of {', '.join(PRESET_NAMES)}, got {self.preset!r}")

    @property
    def preset_spec(self) -> Preset:
        return PRESETS[UNMEASURED_AUTO if self.preset == AUTO else self.preset]

    def resolved(self, choice: str | None) -> "MatteSettings":
        """These settings with "auto" replaced by `choice` (a preset name; None: as they are)."""
        return replace(self, preset=choice) if self.preset == AUTO and choice else self

    def model_for(self, frame_size: tuple[int, int]) -> str:
        """The model this preset runs on video frames of `frame_size` (w, h)."""
        return choose_model(self.preset_spec.model, frame_size)

    def photo_model_for(self, image_size: tuple[int, int]) -> str:
        """The model photos of people of `image_size` (w, h) are cut out with: photos are
        batch work, so the best one whatever the preset."""
        return choose_model(PHOTO_MODEL, image_size)
