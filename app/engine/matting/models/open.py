"""From a model's name or path to a loaded model: the bundled MediaPipe selfie models and
any `.tflite` run on MediaPipe Tasks; shipped, fetched and user `.onnx` models on ONNX Runtime."""

from __future__ import annotations

import json
import os
from pathlib import Path

from app.engine.core.errors import InputError
from app.engine.matting.models.base import SegmentationModel
from app.engine.matting.models.manifest import InputSpec, Manifest
from app.engine.matting.models.mask import MaskModel
from app.engine.matting.models.mediapipe import MediaPipeModel
from app.engine.matting.models.registry import find, locate, verify
from app.engine.matting.models.rvm import RvmModel, input_size_for

VIDEO_LONG_SIDE = 256  # RVM's input on video: 256x144 for 16:9 (its cost: docs/matting.md)
PHOTO_LONG_SIDE = 512  # and on photos, which are batch work


def open_model(name_or_path: str | os.PathLike[str], *, video: bool = True,
               frame_size: tuple[int, int] | None = None) -> SegmentationModel:
    """The model `name_or_path` names: general, landscape, a shipped or fetched model (rvm,
    u2netp, u2net, see `backdrop models`), or a path to a .tflite or .onnx file. `frame_size`
    sets a video model's input shape when the model takes any size. InputError with one line
    when the model is missing, altered or not a segmentation model."""
    key = str(name_or_path)
    manifest = find(key) if not key.lower().endswith((".onnx", ".tflite")) else None
    if manifest is None and not key.lower().endswith(".onnx"):
        return MediaPipeModel(key, video=video)
    if manifest is not None:
        path = locate(manifest)
    else:
        path = Path(key).expanduser()
        if not path.is_file():
            raise InputError(f"{path}: model file not found")
        manifest = user_manifest(path)
    if manifest.kind == "rvm":
        size = input_size_for(frame_size or (16, 9), VIDEO_LONG_SIDE if video else PHOTO_LONG_SIDE)
        return RvmModel(manifest, path, input_size=size, video=video,
                        long_side=None if video else PHOTO_LONG_SIDE)
    return MaskModel(manifest, path, video=video)


def model_task(name_or_path: str | os.PathLike[str]) -> str:
    """"person" or "object": what the model named (or the file's manifest or sidecar) is for.
    The MediaPipe selfie models and any .tflite are person models."""
    key = str(name_or_path)
    if key.lower().endswith(".onnx"):
        path = Path(key).expanduser()
        return user_manifest(path).task if path.is_file() else "person"
    manifest = find(key) if not key.lower().endswith(".tflite") else None
    return manifest.task if manifest is not None else "person"


def user_manifest(path: Path) -> Manifest:
    """A user's .onnx: one image in, one mask out. A sidecar `NAME.onnx.json` or `NAME.json`
    may give `input` (size [w, h], layout NCHW|NHWC, range, mean, std), `kind` (mask or
    saliency) and `task` (person or object); a full manifest there (as `backdrop train`
    writes) is taken whole, and the file is checked against its sha256."""
    data: dict = {}
    for sidecar in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if sidecar.is_file():
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{sidecar}: not a readable model description ({exc})") from None
            if isinstance(data, dict) and "sha256" in data and data.get("file") == path.name:
                manifest = Manifest.load(sidecar)
                verify(manifest, path)
                return manifest
            break
    if not isinstance(data, dict):
        raise InputError(f"{path}: its model description is not a JSON object")
    kind = str(data.get("kind", "mask"))
    if kind not in ("mask", "saliency"):
        raise InputError(f"{path}: kind must be mask or saliency, got {kind!r}")
    return Manifest(name=path.stem, title=path.name, task=str(data.get("task", "person")), runtime="onnxruntime",
                    kind=kind, file=path.name, input=InputSpec.from_dict(data.get("input", {}), str(path)),
                    licence="the user's", notice="", sha256="", bytes=path.stat().st_size, shipped=False,
                    folder=path.parent)
