"""Edge refinement guided by the frame: `GuidedEdges` moves the matte's edge onto the
picture's edge (a fast guided filter); where the confidence is flat, or the picture is,
the matte is left as it was. Design notes: docs/matting.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.engine.imaging.downscale import shrink


class GuidedEdges:
    """MatteStage that snaps the work-size confidence's edges to the picture's edges.

    Promises: the output has the input's shape and dtype (uint8); a uniform confidence, or a
    uniform picture, comes back unchanged; it keeps no state between frames.
    """

    size = "work"

    def __init__(self, radius: int = 8, eps: float = 200.0, scale: int = 4) -> None:
        if radius < 1 or scale < 1 or eps <= 0:
            raise ValueError("radius and scale must be >= 1 and eps > 0")
        self.radius, self.eps, self.scale = radius, eps, scale

    def reset(self) -> None:
        """Nothing to forget: the stage is stateless."""

    def process(self, conf: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """The refined confidence (uint8, conf's shape) for this frame."""
        h, w = conf.shape[:2]
        grey = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY) if guide.ndim == 3 else guide
        lw, lh = max(1, round(w / self.scale)), max(1, round(h / self.scale))
        r = max(1, round(self.radius / self.scale))
        box = (2 * r + 1, 2 * r + 1)
        if (lw, lh) != (w, h):
            small_i = shrink(grey, (lw, lh))
            small_p = shrink(conf, (lw, lh))
        else:
            small_i, small_p = grey, conf
        i = small_i.astype(np.float32)
        p = small_p.astype(np.float32)
        mean_i = cv2.boxFilter(i, -1, box)
        mean_p = cv2.boxFilter(p, -1, box)
        cov = cv2.subtract(cv2.boxFilter(cv2.multiply(i, p), -1, box), cv2.multiply(mean_i, mean_p))
        var = cv2.subtract(cv2.boxFilter(cv2.multiply(i, i), -1, box), cv2.multiply(mean_i, mean_i))
        a = cv2.divide(cov, cv2.add(var, self.eps))
        # average the coefficients over the windows covering each pixel, as the guided
        # filter does, then bring them (and the local mean) to work size
        a = cv2.boxFilter(a, -1, box)
        mean_i = cv2.boxFilter(mean_i, -1, box)
        if (lw, lh) != (w, h):
            a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
            mean_i = cv2.resize(mean_i, (w, h), interpolation=cv2.INTER_LINEAR)
        detail = cv2.multiply(cv2.subtract(grey.astype(np.float32), mean_i), a)
        return cv2.add(conf.astype(np.float32), detail, dtype=cv2.CV_8U)
