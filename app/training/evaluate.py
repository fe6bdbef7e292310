"""Scoring a model as `remove --subject object` uses it (its map, its edge level, `remove`'s
own edges) on annotated photos: IoU, boundary F and MAD per photo and their means; and the
edge level of a new model, fitted on its validation photos."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.engine.files.cutout import cut_out_object
from app.engine.matting.metrics import boundary_f, iou, mad
from app.engine.matting.models.mask import MaskModel

LEVELS = (0.3, 0.4, 0.5, 0.6, 0.7)  # a trained model's map is a calibrated probability: its edge is near 0.5
MIN_PHOTOS = 5  # fewer validation photos than this keep 0.5 (one photo picked 0.9 and lost 0.1 IoU on the test)
METRICS = ("iou", "boundary_f", "mad")


@dataclass(frozen=True)
class Score:
    name: str  # the photo
    iou: float
    boundary_f: float
    mad: float
    alpha: np.ndarray | None = None  # the cut-out's alpha (uint8), kept when asked for


def score(model: str, photos: list[tuple[str, np.ndarray, np.ndarray]], edges: str = "matting",
          keep_alpha: bool = False) -> list[Score]:
    """Each (name, RGB uint8, mask 0/255) cut out with `model` (a name or a path to an .onnx
    with its manifest) and `edges`, scored against its mask."""
    scores = []
    for name, rgb, mask in photos:
        _soft, alpha, _fg = cut_out_object(rgb.copy(), model, edges)
        gt = mask > 127
        scores.append(Score(name, iou(alpha, gt), boundary_f(alpha, gt), mad(alpha, gt),
                            alpha if keep_alpha else None))
    return scores


def means(scores: list[Score]) -> dict[str, float]:
    """The mean of each metric ({} without scores)."""
    if not scores:
        return {}
    return {m: float(np.mean([getattr(s, m) for s in scores])) for m in METRICS}


def fit_edge_level(model: MaskModel, photos: list[tuple[np.ndarray, np.ndarray]], default: float = 0.5) -> float:
    """The level on LEVELS whose threshold of the model's min-max normalised map gives the
    best mean IoU on `photos` (RGB, mask 0/255) at their own size; `default` with fewer than
    MIN_PHOTOS photos (ties go to the level nearest `default`)."""
    if len(photos) < MIN_PHOTOS:
        return default
    totals = np.zeros(len(LEVELS))
    for rgb, mask in photos:
        saliency = model.run(model.prepare(rgb), None)
        full = cv2.resize(saliency, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
        gt = mask > 127
        for i, level in enumerate(LEVELS):
            b = full > level
            union = np.count_nonzero(b | gt)
            totals[i] += 1.0 if union == 0 else np.count_nonzero(b & gt) / union
    best = max(range(len(LEVELS)), key=lambda i: (round(totals[i], 9), -abs(LEVELS[i] - default)))
    return LEVELS[best]
