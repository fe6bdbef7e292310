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

LEVELS = tuple(round(0.1 * i, 1) for i in range(1, 10))  # the grid the shipped models' levels were fitted on
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
    best mean IoU on `photos` (RGB, mask 0/255) at their own size; `default` without photos
    (ties go to the level nearest `default`)."""
    if not photos:
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
