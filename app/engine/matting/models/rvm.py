"""Robust Video Matting on ONNX Runtime: a recurrent model that returns alpha, not a
confidence; its state is carried from frame to frame and reset when told, or when the
input size changes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.engine.matting.models.manifest import Manifest
from app.engine.matting.models.onnx import open_session, short_name

PHOTO_PASSES = 3  # a photo is run this many times, the state settling over the passes


def input_size_for(frame_size: tuple[int, int], long_side: int = 256) -> tuple[int, int]:
    """The model's input for a frame of `frame_size`: its shape, the long side `long_side`,
    both sides multiples of 16 (the network's coarsest stride)."""
    w, h = frame_size
    scale = long_side / max(w, h)
    return max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16)


class RvmModel:
    """RVM at `input_size` (w, h). `run` on a video frame carries the state on; on a
    photo (`video=False`) it starts afresh and runs PHOTO_PASSES times. Not thread-safe."""

    recurrent = True  # carries state from frame to frame (reset at a cut)
    mirror_photos = False  # the recurrent state makes a mirrored pass a different question
    crop_photos = False  # at PHOTO_LONG_SIDE a crop pass loses more than it adds (docs/matting.md)

    def __init__(self, manifest: Manifest, path: Path, *, input_size: tuple[int, int] = (256, 144),
                 video: bool = True, long_side: int | None = None) -> None:
        self.name, self.manifest, self.video = manifest.name, manifest, video
        self.input_size = input_size
        self.long_side = long_side  # when set, each image gets an input of its own shape
        self._session = open_session(path)
        self.provider = short_name(self._session.get_providers()[0])
        names = manifest.extra
        actual = {i.name.split(":")[0]: i.name for i in self._session.get_inputs()}  # "r1i" -> "r1i:0"
        self._image_name = actual[names["inputs"]["image"].split(":")[0]]
        self._ratio_name = actual[names["inputs"]["ratio"].split(":")[0]]
        self._alpha_name = names["outputs"]["alpha"]
        self._state_out = {actual[k.split(":")[0]]: v for k, v in names["outputs"]["state"].items()}
        self._channels = {actual[k.split(":")[0]]: int(v) for k, v in names["state"].items()}
        self._outputs = [self._alpha_name, *self._state_out.values()]
        self._ratio = np.array(1.0, np.float32)  # the caller resizes; the network does not
        self.reset()

    def reset(self) -> None:
        """Forget the state (a cut, a new source, a new clip)."""
        self._state = {k: np.zeros((1, 1, 1, c), np.float32) for k, c in self._channels.items()}
        self._shape: tuple[int, ...] | None = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """`image` resized in one bilinear step to the model's input (of the image's shape, when
        `long_side` is set: `input_size` follows)."""
        if self.long_side is not None:
            self.input_size = input_size_for((image.shape[1], image.shape[0]), self.long_side)
        return cv2.resize(image, self.input_size, interpolation=cv2.INTER_LINEAR)

    def run(self, model_input: np.ndarray, timestamp_ms: int | None = None) -> np.ndarray:
        """Alpha (float32 0..1) at model_input's size."""
        src = (model_input.astype(np.float32) * (1.0 / 255.0))[None]
        if not self.video:
            self.reset()
        if self._shape != src.shape:
            self.reset()
            self._shape = src.shape
        alpha = None
        for _ in range(1 if self.video else PHOTO_PASSES):
            feed = {self._image_name: src, self._ratio_name: self._ratio, **self._state}
            results = self._session.run(self._outputs, feed)
            alpha = results[0]
            self._state = {k: r for k, r in zip(self._state_out, results[1:])}
        return np.ascontiguousarray(alpha[0, :, :, 0])

    def close(self) -> None:
        self._session = None
