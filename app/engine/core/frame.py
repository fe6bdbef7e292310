"""The unit that flows from a source through every stage to the outputs."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np


def now_ns() -> int:
    """The shared monotonic clock (ns) that frames and audio blocks are stamped with."""
    return time.monotonic_ns()


@dataclass(frozen=True)
class Frame:
    """An RGB uint8 image with its capture time and index.

    `capture_ns` is on the monotonic clock of `now_ns()`; latency is output time minus it.
    `pts`/`time_base` give the position in the source's own timeline (files), so outputs
    can keep the source's timing exactly; live sources leave them derived from capture time.
    """

    image: np.ndarray
    capture_ns: int
    index: int
    pts: int | None = None
    time_base: Fraction | None = None

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
            raise TypeError(f"unexpected frame dtype: {getattr(img, 'dtype', type(img))}")
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"unexpected frame shape: {img.shape} (want HxWx3 RGB)")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.image.shape[1], self.image.shape[0]

    @property
    def seconds(self) -> float | None:
        """Position in the source's timeline in seconds, if the source has one."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def with_image(self, image: np.ndarray) -> "Frame":
        """A new frame with another image and the same timing."""
        return replace(self, image=image)
