"""How far a cut-out can be trusted, from its probability map alone: a confidence 0..1 fitted
to predict the cut-out's IoU, and a flag reason for the ones to look at.

The features are measured on the map reduced to FEATURE_LONG_SIDE, so they do not depend on
the photo's size. Calibration (the data, the fit, the figures): `docs/stills.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FEATURE_LONG_SIDE = 320  # px: the map is judged at this size
UNDECIDED = (0.1, 0.9)  # probability range that counts as undecided
MIN_OBJECT_SHARE = 0.002  # below: nothing found
MIN_PART_SHARE = 0.05  # a component smaller than this share of the largest is a stray bit

# confidence = clip(BASE - W_UNDECIDED * undecided_per_object, 0, 1): least squares of the
# cut-out's IoU on ../shared/eval/objects (79 photos, ObjectMatter("u2netp").soft) together
# with ../shared/eval/portraits (66, the "general" person model's photo map), rounded. The
# scattered and border shares were tried too and dropped: they do not predict IoU there
# (|correlation| < 0.08). Correlation of the confidence with IoU: 0.55 over the 145 (0.68 on
# the people, 0.52 on the objects, 0.30 with U²-Net); mean |confidence - IoU| 0.065.
BASE = 0.94
W_UNDECIDED = 0.32
# Flagged below this: 5 of the 18 bad cut-outs there (IoU < 0.8) and 1 of the 127 good ones
# (at 0.80: 5 and 4; at 0.85: 5 and 15). Objects the model misses entirely leave a clean map
# and are not caught: docs/stills.md.
FLAG_BELOW = 0.75


@dataclass(frozen=True)
class MapFeatures:
    """What the map looks like (shares of the reduced map); the confidence uses the
    undecided share, the flag reason the parts."""

    object_share: float  # pixels > 0.5
    undecided_per_object: float  # undecided pixels per object pixel (1 when nothing is found)
    scattered: float  # share of the object outside its largest component
    border_share: float  # share of the picture's border that is object
    parts: int  # components of at least MIN_PART_SHARE of the largest


def _reduced(soft: np.ndarray) -> np.ndarray:
    h, w = soft.shape[:2]
    scale = min(1.0, FEATURE_LONG_SIDE / max(h, w))
    s = soft.astype(np.float32, copy=False)
    if scale < 1.0:
        s = cv2.resize(s, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return s


def map_features(soft: np.ndarray) -> MapFeatures:
    """The features of a probability map (float 0..1, any size)."""
    s = _reduced(soft)
    obj = s > 0.5
    n_obj = int(np.count_nonzero(obj))
    undecided = int(np.count_nonzero((s > UNDECIDED[0]) & (s < UNDECIDED[1])))
    border = np.concatenate([obj[0], obj[-1], obj[:, 0], obj[:, -1]])
    if n_obj == 0:
        return MapFeatures(0.0, 1.0, 0.0, 0.0, 0)
    count, _, stats, _ = cv2.connectedComponentsWithStats(obj.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA] if count > 1 else np.array([n_obj])
    largest = int(areas.max())
    return MapFeatures(n_obj / obj.size, min(1.0, undecided / n_obj), 1.0 - largest / n_obj,
                       float(border.mean()), int(np.count_nonzero(areas >= MIN_PART_SHARE * largest)))


def predicted_iou(f: MapFeatures) -> float:
    """The fitted formula (see the constants above)."""
    value = BASE - W_UNDECIDED * f.undecided_per_object
    return float(np.clip(value, 0.0, 1.0))


def cutout_quality(soft: np.ndarray) -> tuple[float, str]:
    """(confidence 0..1, flag reason) for the cut-out made from `soft` (float 0..1). The
    confidence predicts the cut-out's IoU; the reason is "" unless it is below FLAG_BELOW
    or nothing was found, and then says what is wrong."""
    f = map_features(soft)
    if f.object_share < MIN_OBJECT_SHARE:
        return 0.0, "nothing found"
    confidence = round(predicted_iou(f), 3)
    if confidence >= FLAG_BELOW:
        return confidence, ""
    reason = f"undecided edge ({f.undecided_per_object:.0%} of the subject's area)"
    if f.parts > 1 and f.scattered > 0.25:
        reason += f", {f.parts} separate parts"
    return confidence, reason
