"""A trained U²-Net back to ONNX, in the shipped model's shape: one input 'input.1'
[1,3,size,size] (ImageNet-normalised RGB) and 7 outputs d0..d6 after the sigmoid, the fused
map d0 first (the runtime reads the first output), and a check that ONNX Runtime agrees.

The export uses torch's TorchScript exporter (`dynamo=False`): it works offline with torch
and onnx alone, and gives the same graph as the shipped file (Conv, Relu, MaxPool, Resize)
at the same size, 4.6 MB for u2netp. torch 2.13's default, the dynamo exporter, needs
onnxscript, which the train extra does not install. (The TorchScript exporter cannot name
outputs '1959'.. as the shipped file does: names must not be numbers.)"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from app.training.network import U2Net

INPUT_NAME = "input.1"
OUTPUT_NAMES = tuple(f"d{i}" for i in range(7))
MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # the manifest's input normalisation
STD = np.array([0.229, 0.224, 0.225], np.float32)


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """The model in eval mode for the block, back in its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def export_onnx(model: U2Net, path: Path | str, *, size: int = 320, opset: int = 17) -> None:
    """Write `model` as ONNX to `path` with a fixed [1,3,size,size] input. The file is written
    as `.NAME.partial` beside it and renamed into place only when complete, so `path` is
    either the old file or the whole new one. torch's exporter warnings are kept quiet."""
    path = Path(path)
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    partial = path.with_name("." + path.name + ".partial")
    dummy = torch.zeros(1, 3, size, size, device=_device(model))
    try:
        with _evaluating(model), warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarning, the exporter's DeprecationWarning, ...
            torch.onnx.export(model, (dummy,), str(partial), dynamo=False, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                              export_params=True, do_constant_folding=True)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def sample_inputs(count: int = 3, size: tuple[int, int] = (320, 320), seed: int = 0) -> np.ndarray:
    """`count` random images [count,3,H,W] (uniform 0..1 pixels), normalised as the model's
    input is: reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    pixels = rng.random((count, 3, size[1], size[0]), dtype=np.float32)
    return (pixels - MEAN[:, None, None]) / STD[:, None, None]


def max_difference(model: U2Net, onnx_path: Path | str, samples: np.ndarray | None = None) -> float:
    """The largest absolute difference between torch's fused map (d0, after the sigmoid) and
    ONNX Runtime's first output (CPU) on `samples` ([N,3,H,W] normalised, run one at a time),
    by default three seeded random images at the file's input size."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    if samples is None:
        dims = [d if isinstance(d, int) and d > 0 else 320 for d in meta.shape[2:4]]
        samples = sample_inputs(size=(dims[1], dims[0]))
    samples = np.asarray(samples, np.float32)
    if samples.ndim == 3:
        samples = samples[None]
    worst = 0.0
    with _evaluating(model), torch.no_grad():
        for sample in samples:
            x = np.ascontiguousarray(sample[None])
            ours = model(torch.from_numpy(x).to(_device(model)))[0].float().cpu().numpy()
            theirs = np.asarray(session.run(None, {meta.name: x})[0], np.float32)
            if ours.shape != theirs.shape:
                raise ValueError(f"{onnx_path}: output {theirs.shape}, torch gives {ours.shape}")
            worst = max(worst, float(np.abs(ours - theirs).max()))
    return worst
