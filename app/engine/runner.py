"""The per-frame stages, run the same way by the file and the live pipelines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine.core.frame import Frame


@dataclass
class Processed:
    """One frame's result: the output picture (RGB, RGBA or grey matte) and its alpha."""

    frame: Frame
    image: np.ndarray
    alpha: np.ndarray
