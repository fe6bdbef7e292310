"""A model's manifest: what it is for, how to feed it, where it came from and its sha256.
Every shipped or fetchable model has one (`shipped/*.json`); a user's `.onnx` may have a
sidecar (`model.onnx.json` or `model.json`) with the input fields."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.core.errors import InputError

TASKS = ("person", "object")
RUNTIMES = ("onnxruntime", "mediapipe")
KINDS = ("rvm", "saliency", "mask")  # how the outputs are read: recurrent matting, U²-Net, one mask


@dataclass(frozen=True)
class InputSpec:
    """How an RGB uint8 image becomes the model's input: resized to `size` (w, h; None: any
    size, the caller picks), scaled to `range`, then (x - mean) / std per channel, in
    `layout` NHWC or NCHW."""

    size: tuple[int, int] | None = None
    layout: str = "NCHW"
    range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "InputSpec":
        try:
            size = data.get("size")
            spec = cls(size=tuple(int(v) for v in size) if size else None,
                       layout=str(data.get("layout", "NCHW")).upper(),
                       range=tuple(float(v) for v in data.get("range", (0, 1))),
                       mean=tuple(float(v) for v in data.get("mean", (0, 0, 0))),
                       std=tuple(float(v) for v in data.get("std", (1, 1, 1))))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: bad input description ({exc})") from None
        if spec.layout not in ("NCHW", "NHWC") or len(spec.mean) != 3 or len(spec.std) != 3 \
                or (spec.size is not None and len(spec.size) != 2) or min(spec.std) <= 0:
            raise InputError(f"{where}: bad input description {data!r}")
        return spec


@dataclass(frozen=True)
class Manifest:
    """One model. `file` is relative to the manifest's folder (shipped) or to the user's
    models folder (fetched). `source` says where the weights come from; `fetch`, for a
    model that is not shipped, which registry package holds it."""

    name: str
    title: str
    task: str
    runtime: str
    kind: str
    file: str
    input: InputSpec
    licence: str
    notice: str
    sha256: str
    bytes: int
    shipped: bool
    recurrent: bool = False
    source: dict[str, Any] = field(default_factory=dict)
    fetch: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    folder: Path = Path()

    @property
    def trained(self) -> dict[str, Any]:
        """The provenance of a model made by `backdrop train` (base model, data, figures); {} for others."""
        value = self.extra.get("trained")
        return value if isinstance(value, dict) else {}

    @property
    def edge_level(self) -> float | None:
        """Where a saliency map's objects end (its manifest's `edge_level`), if it says."""
        value = self.extra.get("edge_level")
        return float(value) if isinstance(value, (int, float)) and 0.0 < value < 1.0 else None

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        """Read and check a manifest; InputError naming the file when it is not one."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable model manifest ({exc})") from None
        known = {"name", "title", "task", "runtime", "kind", "file", "input", "licence", "notice",
                 "sha256", "bytes", "shipped", "recurrent", "source", "fetch"}
        try:
            manifest = cls(name=str(data["name"]), title=str(data["title"]), task=str(data["task"]),
                           runtime=str(data["runtime"]), kind=str(data["kind"]), file=str(data["file"]),
                           input=InputSpec.from_dict(data.get("input", {}), str(path)),
                           licence=str(data["licence"]), notice=str(data["notice"]),
                           sha256=str(data["sha256"]).lower(), bytes=int(data["bytes"]),
                           shipped=bool(data["shipped"]), recurrent=bool(data.get("recurrent", False)),
                           source=dict(data.get("source", {})), fetch=dict(data.get("fetch", {})),
                           extra={k: v for k, v in data.items() if k not in known}, folder=path.parent)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: model manifest lacks or mangles {exc}") from None
        if manifest.task not in TASKS or manifest.runtime not in RUNTIMES or manifest.kind not in KINDS:
            raise InputError(f"{path}: task, runtime or kind not known ({manifest.task}, {manifest.runtime}, "
                             f"{manifest.kind})")
        return manifest


def sha256_of(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
