"""Object probability for a still photo from a saliency model (U²-Netp shipped, U²-Net once
fetched): the model's map, a mirrored second view where the first may have missed parts, the map's
edge put at the level where the model's objects end, at the photo's size.

Design notes and the figures behind the constants: `docs/stills.md`.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.engine.core.errors import InputError
from app.engine.matting.models.base import SegmentationModel
from app.engine.matting.models.open import open_model

# Where the min-max normalised saliency map's objects end, per model: the level whose
# threshold gives the best IoU on ../shared/eval/objects (fitted on a 0.1 grid, two views
# averaged; COTS and ECSSD halves each pick the same level). A trained model's manifest says
# its own (`edge_level`, fitted on its validation photos); unknown models: 0.5.
EDGE_LEVELS = {"u2netp": 0.3, "u2net": 0.5}
# The ramp's width around that level: the map goes from 0 to 1 over this span of saliency
# (narrow: U²-Net's soft zone is wider than the object's true edge; see docs/stills.md).
RAMP_WIDTH = 0.1
# The mirrored view is run and averaged in when the first view's faint saliency (0.02 up to
# the edge level: parts of the object it may have missed) exceeds this share of its object
# pixels: 20% of ../shared/eval/objects with u2netp, 13% with u2net, keeping the whole gain
# of the mirror at 1.20 / 1.13 model passes a photo (docs/stills.md).
MIRROR_WHEN_FAINT = {"u2netp": 0.35, "u2net": 0.25}
FAINT_FROM = 0.02
MIRROR_CHOICES = ("auto", "always", "never")


def faint_share(saliency: np.ndarray, level: float) -> float:
    """Faint pixels (FAINT_FROM < s <= level) per pixel above `level` (inf when there is none)."""
    obj = float(np.count_nonzero(saliency > level))
    faint = float(np.count_nonzero((saliency > FAINT_FROM) & (saliency <= level)))
    return float("inf") if obj == 0 else faint / obj


def ramp(saliency: np.ndarray, level: float, width: float = RAMP_WIDTH) -> np.ndarray:
    """Saliency mapped so that `level` becomes 0.5, linearly over `width`, clipped to 0..1."""
    return np.clip((saliency - level) * (1.0 / width) + 0.5, 0.0, 1.0).astype(np.float32)


class ObjectMatter:
    """Object probability maps for photos. `mirror`: "auto" (a second, mirrored pass only
    when the first view's map is faint over much of the object), "always" or "never". Not
    thread-safe: one per thread."""

    def __init__(self, model: str = "u2netp", *, mirror: str = "auto") -> None:
        if mirror not in MIRROR_CHOICES:
            raise InputError(f"mirror: {mirror!r} is not one of {', '.join(MIRROR_CHOICES)}")
        self._model: SegmentationModel | None = open_model(model, video=False)
        if getattr(getattr(self._model, "manifest", None), "kind", None) != "saliency":
            name = self._model.name
            self.close()
            raise InputError(f"{name}: not an object (saliency) model")
        self.name = self._model.name
        manifest = self._model.manifest
        self.level = manifest.edge_level or EDGE_LEVELS.get(self.name, 0.5)
        self.mirror_above = MIRROR_WHEN_FAINT.get(self.name, 0.3)
        self.mirror = mirror
        self.passes = 0  # model passes run so far (for cost figures)

    def saliency(self, image_rgb: np.ndarray) -> np.ndarray:
        """The model's min-max normalised map (float32 0..1, the model's input size), the
        mirrored view averaged in as `mirror` says."""
        if self._model is None:
            raise InputError("ObjectMatter: closed")
        model_input = self._model.prepare(image_rgb)
        first = self._model.run(model_input, None)
        self.passes += 1
        if self.mirror == "never" or (self.mirror == "auto"
                                      and faint_share(first, self.level) <= self.mirror_above):
            return first
        mirrored = self._model.run(np.ascontiguousarray(model_input[:, ::-1]), None)[:, ::-1]
        self.passes += 1
        return cv2.addWeighted(first, 0.5, np.ascontiguousarray(mirrored), 0.5, 0.0)

    def soft(self, image_rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """Object probability (float32 HxW in 0..1) at the size of `image_rgb` (uint8 HxWx3),
        or at `size` (w, h) when given (a huge photo's map at `refine`'s working size saves
        a full-size float array): > 0.5 is the object."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise InputError(f"ObjectMatter.soft: needs uint8 HxWx3 RGB, got {image_rgb.dtype} {image_rgb.shape}")
        w, h = size or (image_rgb.shape[1], image_rgb.shape[0])
        small = ramp(self.saliency(image_rgb), self.level)
        return cv2.resize(small, (int(w), int(h)), interpolation=cv2.INTER_LINEAR)

    def close(self) -> None:
        """Release the model (idempotent)."""
        if self._model is not None:
            self._model.close()
            self._model = None

    def __enter__(self) -> "ObjectMatter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
