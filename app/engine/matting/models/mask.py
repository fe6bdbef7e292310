"""One image in, one mask out, on ONNX Runtime: U²-Net's saliency map (objects) or a user's
segmentation model, read as its manifest or sidecar says."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.engine.core.errors import InputError
from app.engine.matting.models.manifest import Manifest
from app.engine.matting.models.onnx import open_session, short_name


class MaskModel:
    """Runs at the manifest's input size (or the model's own fixed size). `kind` "saliency"
    stretches the map to 0..1 per image (as U²-Net's users do); "mask" takes it as it is,
    clipped to 0..1, and a two-channel output's second channel as the person/object."""

    recurrent = False  # carries state from frame to frame (reset at a cut)
    mirror_photos = False
    crop_photos = True

    def __init__(self, manifest: Manifest, path: Path, *, video: bool = True) -> None:
        self.name, self.manifest, self.video = manifest.name, manifest, video
        self._session = open_session(path)
        self.provider = short_name(self._session.get_providers()[0])
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4 or not outputs:
            raise InputError(f"{path}: not a segmentation model (needs one image input [1,3,H,W] or "
                             f"[1,H,W,3]; has {[(i.name, i.shape) for i in inputs]})")
        spec = manifest.input
        self._input, self._output = inputs[0].name, outputs[0].name
        self._nchw = spec.layout == "NCHW"
        dims = inputs[0].shape[2:4] if self._nchw else inputs[0].shape[1:3]
        fixed = tuple(d if isinstance(d, int) and d > 0 else None for d in dims)
        size = spec.size or ((fixed[1], fixed[0]) if None not in fixed else (320, 320))
        self.input_size: tuple[int, int] = (int(size[0]), int(size[1]))
        lo, hi = spec.range
        scale = (hi - lo) / 255.0
        self._scale = (np.float32(scale) / np.array(spec.std, np.float32))
        self._offset = (np.float32(lo) - np.array(spec.mean, np.float32)) / np.array(spec.std, np.float32)

    def reset(self) -> None:
        """Nothing to forget: each image stands alone."""

    def prepare(self, image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, self.input_size, interpolation=cv2.INTER_AREA)

    def run(self, model_input: np.ndarray, timestamp_ms: int | None = None) -> np.ndarray:
        """The mask (float32 0..1) at model_input's size."""
        x = model_input.astype(np.float32) * self._scale + self._offset
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None] if self._nchw else x[None])
        out = np.asarray(self._session.run([self._output], {self._input: x})[0], np.float32)
        mask = np.squeeze(out)
        if mask.ndim == 3:  # channels: the second of two is the foreground
            mask = mask[1] if mask.shape[0] == 2 else mask[..., 1] if mask.shape[-1] == 2 else mask[0]
        if mask.ndim != 2:
            raise InputError(f"{self.name}: its output {out.shape} is not one mask")
        if self.manifest.kind == "saliency":
            lo, hi = float(mask.min()), float(mask.max())
            mask = (mask - lo) / (hi - lo) if hi > lo else np.zeros_like(mask)
        mask = np.clip(mask, 0.0, 1.0)
        if mask.shape[::-1] != tuple(self.input_size):
            mask = cv2.resize(mask, tuple(self.input_size), interpolation=cv2.INTER_LINEAR)
        return mask

    def close(self) -> None:
        self._session = None
