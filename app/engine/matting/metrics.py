"""Matte quality against a binary ground-truth mask: IoU, boundary F (DAVIS) and MAD, as
../shared/eval/README.md defines them. Used by `backdrop train`'s model card and the benchmarks."""

from __future__ import annotations

import cv2
import numpy as np


def as_float(alpha: np.ndarray) -> np.ndarray:
    """Alpha in [0, 1] as float32, from uint8 (0..255) or float."""
    return alpha.astype(np.float32) / 255.0 if alpha.dtype == np.uint8 else alpha.astype(np.float32)


def binary(alpha: np.ndarray) -> np.ndarray:
    """alpha > 0.5."""
    return alpha > 127 if alpha.dtype == np.uint8 else alpha > 0.5


def boundary(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels: the mask minus its 3x3 erosion."""
    m8 = mask.astype(np.uint8)
    return mask & ~cv2.erode(m8, np.ones((3, 3), np.uint8)).astype(bool)


def iou(alpha: np.ndarray, gt: np.ndarray) -> float:
    """|binary AND gt| / |binary OR gt| (1 when both are empty)."""
    b = binary(alpha)
    union = np.count_nonzero(b | gt)
    return 1.0 if union == 0 else np.count_nonzero(b & gt) / union


def boundary_f(alpha: np.ndarray, gt: np.ndarray) -> float:
    """Contour F-measure with tolerance round(0.008 x diagonal) pixels (DAVIS)."""
    h, w = gt.shape
    tol = round(0.008 * np.hypot(h, w))
    pb, gb = boundary(binary(alpha)), boundary(gt)
    n_p, n_g = np.count_nonzero(pb), np.count_nonzero(gb)
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    to_gt = cv2.distanceTransform((~gb).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    to_pred = cv2.distanceTransform((~pb).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    precision = np.count_nonzero(to_gt[pb] <= tol) / n_p
    recall = np.count_nonzero(to_pred[gb] <= tol) / n_g
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def mad(alpha: np.ndarray, gt: np.ndarray) -> float:
    """mean |alpha - gt| x 1000."""
    return float(np.mean(np.abs(as_float(alpha) - gt))) * 1000.0
