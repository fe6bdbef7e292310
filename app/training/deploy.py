"""A trained model's manifest (task object, input spec, sha256, edge level, provenance) and
its installation into the user's models folder, where `backdrop models`, `remove --model NAME`
and `backdrop serve` find it."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.engine.core.assets import user_models_dir
from app.engine.core.errors import InputError, SettingsError
from app.engine.matting.models.manifest import Manifest, sha256_of
from app.engine.matting.models.mediapipe import BUNDLED_MODELS
from app.engine.matting.models.registry import SHIPPED_DIR

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def check_name(name: str, overwrite: bool) -> None:
    """SettingsError unless `name` is a new model name (lower-case letters, digits, - and _),
    not a shipped or bundled model's; an existing trained model of that name needs `overwrite`."""
    if not NAME_PATTERN.fullmatch(name):
        raise SettingsError(f"--name {name!r}: use lower-case letters, digits, '-' and '_' (up to 64), "
                            "starting with a letter or digit")
    taken = set(BUNDLED_MODELS) | {p.stem for p in SHIPPED_DIR.glob("*.json")}
    if name in taken:
        raise SettingsError(f"--name {name}: a model of Backdrop's own has that name; pick another")
    if (user_models_dir() / f"{name}.json").exists() and not overwrite:
        raise SettingsError(f"--name {name}: {user_models_dir() / (name + '.json')} exists; "
                            "pass --overwrite to replace it")


def manifest_data(name: str, base: Manifest, onnx_path: Path, edge_level: float, size: int,
                  trained: dict[str, Any]) -> dict[str, Any]:
    """The manifest of the model at `onnx_path`, fine-tuned from `base` at `size` x `size`."""
    spec = dict(asdict(base.input), size=(size, size))
    return {
        "name": name, "title": f"{name} (trained from {base.name})", "task": "object",
        "runtime": "onnxruntime", "kind": "saliency", "file": f"{name}.onnx",
        "input": {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
        "recurrent": False, "licence": base.licence,
        "notice": f"{base.notice}; fine-tuned on the user's own photos by `backdrop train`",
        "source": {"registry": "trained", "package": "backdrop train", "version": trained.get("date", ""),
                   "base": base.name},
        "sha256": sha256_of(onnx_path), "bytes": onnx_path.stat().st_size, "shipped": False,
        "edge_level": edge_level, "trained": trained,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as JSON at `path`, via a temporary name."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def write_beside(onnx_path: Path, data: dict[str, Any]) -> Path:
    """The manifest beside the model file (`NAME.json` for `model.onnx` with file renamed to
    its name), so `--model path/to/model.onnx` finds it."""
    local = dict(data, file=onnx_path.name)
    target = onnx_path.with_suffix(".json")
    write_json(target, local)
    return target


def install(onnx_path: Path, data: dict[str, Any]) -> Path:
    """Copy the model and its manifest into the user's models folder (the model first, each
    under a temporary name); the installed manifest's path. InputError when it cannot be written."""
    folder = user_models_dir()
    target = folder / data["file"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        shutil.copyfile(onnx_path, partial)
        os.replace(partial, target)
        manifest = folder / f"{data['name']}.json"
        write_json(manifest, data)
    except OSError as exc:
        raise InputError(f"{folder}: the model cannot be installed there ({exc.strerror or exc})") from None
    Manifest.load(manifest)  # what the registry will read
    return manifest
