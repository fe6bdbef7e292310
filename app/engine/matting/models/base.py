"""What every segmentation model offers the segmenter, whatever runtime runs it."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SegmentationModel(Protocol):
    """A loaded model. `prepare` turns an RGB uint8 image into the model's input
    (`input_size`, width x height); `run` returns the person confidence (float32 0..1) at
    that size; `reset` forgets any state carried between frames; `close` frees the model and
    is safe to call twice."""

    name: str
    provider: str  # where it runs: "cpu", "cuda", "tensorrt", ...
    recurrent: bool  # carries state from frame to frame: reset at a cut, a new source or clip
    mirror_photos: bool  # photos are also segmented mirrored, and the two views averaged
    crop_photos: bool  # photos get a second pass on the person's crop, pasted over the first

    @property
    def input_size(self) -> tuple[int, int]: ...

    def prepare(self, image: np.ndarray) -> np.ndarray: ...

    def run(self, model_input: np.ndarray, timestamp_ms: int | None = None) -> np.ndarray: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...
