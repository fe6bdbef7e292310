"""The whole of `backdrop train`: read the annotations, split them (or fold them), fine-tune
the base model, export it to ONNX and check the export against torch, fit its edge level,
score it beside the base model on the test photos with `remove`'s own edges, write the run
folder (split, model card, curves, before/after page) and install the model."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from app.engine.core.errors import BackdropError, InputError
from app.engine.imaging.images import load_photo
from app.engine.matting.models.mask import MaskModel
from app.engine.matting.models.open import user_manifest
from app.engine.matting.models.registry import find, locate
from app.training import card, deploy, split
from app.training.augment import KEEP_SIDE, shrink
from app.training.data import Pair, collect
from app.training.evaluate import Score, fit_edge_level, means, score
from app.training.export import export_onnx, max_difference
from app.training.network import from_onnx
from app.training.trainer import Outcome, TrainConfig, Trainer, iou_text, pick_device

MIN_PAIRS = 4
EXPORT_TOLERANCE = 1e-4
BACKGROUND_SIDE = 512


@dataclass(frozen=True)
class TrainRequest:
    data: list[Path]
    name: str
    run_dir: Path
    base: str = "u2netp"
    config: TrainConfig = TrainConfig()
    folds: int | None = None
    resume: bool = False
    backgrounds: Path | None = None
    general: Path | None = None
    edges: str = "matting"
    overwrite: bool = False
    install: bool = True  # False: the run folder only (cross-validation figures, benchmarks)


@dataclass
class Photo:
    """One usable pair, in memory at the training size, and where it came from."""

    pair: Pair
    name: str
    rgb: np.ndarray
    mask: np.ndarray


@dataclass
class TrainResult:
    report: card.RunReport
    card: Path
    model: Path | None  # the installed manifest (None with install=False)
    run_dir: Path


Say = Callable[[str], None]


def base_manifest(name: str):
    """The base model's manifest, checked: an installed object (saliency) model."""
    manifest = find(name)
    if manifest is None or manifest.task != "object" or manifest.kind != "saliency":
        raise InputError(f"--base {name!r}: not an object model (u2netp, or u2net once fetched)")
    return manifest, locate(manifest)


def load_photos(pairs: list[Pair], problems: list[str]) -> list[Photo]:
    """The pairs that load, at the training size; the others are added to `problems`."""
    photos, names = [], set()
    for pair in pairs:
        try:
            rgb, mask = shrink(*pair.load(KEEP_SIDE))
        except BackdropError as exc:
            problems.append(str(exc))
            continue
        if not np.any(mask):
            problems.append(f"{pair.source}: the mask of {pair.image.name} is empty")
            continue
        name = pair.image.stem if pair.image.stem not in names else f"{pair.image.parent.name}/{pair.image.stem}"
        names.add(name)
        photos.append(Photo(pair, name, rgb, mask))
    return photos


def fingerprint(photos: list[Photo]) -> str:
    """A hash of the photos' and masks' pixels as trained on, in name order."""
    digest = hashlib.sha256()
    for p in sorted(photos, key=lambda p: p.name):
        digest.update(p.name.encode())
        digest.update(p.rgb.tobytes())
        digest.update(p.mask.tobytes())
    return digest.hexdigest()[:16]


def load_backgrounds(folder: Path | None, problems: list[str]) -> list[np.ndarray]:
    """The photos of `folder` for copy-paste, at a reduced size."""
    if folder is None:
        return []
    from app.engine.sources.images import list_images

    if not folder.is_dir():
        raise InputError(f"--backgrounds {folder}: not a folder")
    found = []
    for path in list_images(folder):
        try:
            found.append(load_photo(path, BACKGROUND_SIDE).rgb)
        except BackdropError as exc:
            problems.append(f"--backgrounds: {exc}")
    if not found:
        raise InputError(f"--backgrounds {folder}: no readable photos in it")
    return found


def full_size(photos: list[Photo]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, RGB, mask) at the photos' own size, as `remove` sees them."""
    return [(p.name, *p.pair.load()) for p in photos]


def train_one(req: TrainRequest, base_path: Path, level: float, photos: list[Photo], part: split.Split,
              folder: Path, config: TrainConfig, backgrounds: list[np.ndarray], say: Say) -> tuple[Outcome, Path]:
    """Train on `part`'s train photos, export to `folder`/model.onnx with its manifest beside
    it (edge level fitted on the validation photos), and check the export."""
    folder.mkdir(parents=True, exist_ok=True)
    net = from_onnx(base_path)
    spec = find(req.base).input
    trainer = Trainer(net, [(photos[i].rgb, photos[i].mask) for i in part.train],
                      [(photos[i].rgb, photos[i].mask) for i in part.validation], spec, config, folder, backgrounds)
    outcome = trainer.run(say, resume=req.resume and (folder / "checkpoint.pt").is_file())
    onnx_path = folder / "model.onnx"
    export_onnx(net.cpu(), onnx_path, size=config.size)
    difference = max_difference(net, onnx_path)
    if difference > EXPORT_TOLERANCE:
        raise InputError(f"{onnx_path}: the exported model differs from the trained one by {difference:.2g}")
    draft = deploy.manifest_data(req.name, find(req.base), onnx_path, level, config.size, {})
    deploy.write_beside(onnx_path, draft)
    level = fit_edge_level(MaskModel(user_manifest(onnx_path), onnx_path, video=False),
                           [photos[i].pair.load() for i in part.validation], level)
    deploy.write_beside(onnx_path, deploy.manifest_data(req.name, find(req.base), onnx_path, level, config.size,
                                                        {"export_difference": difference}))
    return outcome, onnx_path


def run_training(req: TrainRequest, say: Say, warn: Say) -> TrainResult:
    """Everything `backdrop train` does; InputError (one line) on unusable data or settings."""
    if req.install:
        deploy.check_name(req.name, req.overwrite)
    device = _device_name(req.config.device)  # a missing CUDA is said before any photo is read
    base, base_path = base_manifest(req.base)
    trained_level = 0.5  # a BCE-trained map's own edge, until the validation photos say otherwise
    collected = collect(req.data)
    problems = list(collected.problems)
    photos = load_photos(collected.pairs, problems)
    for line in problems:
        warn(f"not used: {line}")
    if len(photos) < MIN_PAIRS:
        raise InputError(f"only {len(photos)} usable photo and mask pairs in {', '.join(map(str, req.data))}; "
                         f"training needs at least {MIN_PAIRS}")
    backgrounds = load_backgrounds(req.backgrounds, problems)
    keys = split.group_keys([p.pair.group for p in photos], [split.thumbnail(p.rgb) for p in photos])
    try:
        parts = split.folds(keys, req.folds, req.config.seed) if req.folds else [split.split(keys, req.config.seed)]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    runs = len(parts) + (1 if req.folds and req.install else 0)
    names = [p.name for p in photos]
    plan = {"seed": req.config.seed, "data_fingerprint": fingerprint(photos), "folds": req.folds or 0,
            "groups": dict(zip(names, keys)), "splits": [part.as_dict(names) for part in parts]}
    if req.resume:
        _check_resumable(req.run_dir, plan)
    req.run_dir.mkdir(parents=True, exist_ok=True)
    deploy.write_json(req.run_dir / "split.json", plan)
    started = time.monotonic()
    histories, base_scores, new_scores, review, samples, notes = [], [], [], [], 0, []
    final_path = None
    for i, part in enumerate(parts):
        config = _share_time(req.config, started, runs - i)
        folder = req.run_dir / (f"fold-{i + 1}" if req.folds else "model")
        say(f"{'fold %d/%d: ' % (i + 1, len(parts)) if req.folds else ''}training on {len(part.train)} photos, "
            f"validating on {len(part.validation)}, testing on {len(part.test)}")
        outcome, onnx_path = train_one(req, base_path, trained_level, photos, part, folder, config, backgrounds, say)
        histories.append(outcome.history)
        samples += outcome.samples
        notes.append(_stop_note(f"fold {i + 1}" if req.folds else "training", outcome))
        test = full_size([photos[j] for j in part.test])
        before, after = score(req.base, test, req.edges, True), score(str(onnx_path), test, req.edges, True)
        base_scores.append(_light(before))
        new_scores.append(_light(after))
        review += [card.ReviewPhoto(n, rgb, b, a) for (n, rgb, _m), b, a in zip(test, before, after)]
        say(f"  test IoU {means(before).get('iou', float('nan')):.3f} -> {means(after).get('iou', float('nan')):.3f}")
        final_path = onnx_path
    if req.folds and req.install:  # the model to deploy learns from every photo but a validation part
        everything = split.Split(tuple(j for j in range(len(photos)) if j not in parts[0].validation),
                                 parts[0].validation, ())
        say(f"final model: training on {len(everything.train)} photos, validating on {len(everything.validation)}")
        outcome, final_path = train_one(req, base_path, trained_level, photos, everything, req.run_dir / "model",
                                        _share_time(req.config, started, 1), backgrounds, say)
        histories.append(outcome.history)
        samples += outcome.samples
        notes.append(_stop_note("final model", outcome))
    general = _general(req, final_path, problems, say) if req.general else None
    report = card.RunReport(req.name, req.base, len(photos), problems, histories, base_scores, new_scores,
                            time.monotonic() - started, samples, req.edges, device, general, notes)
    card.write_before_after(req.run_dir / "review", review, req.base, req.name)
    card_path = card.write_card(req.run_dir, report)
    installed = None
    if req.install:
        data = json.loads(final_path.with_suffix(".json").read_text(encoding="utf-8"))
        data["trained"] = _provenance(req, base, photos, parts, report, data["trained"], plan["data_fingerprint"])
        installed = deploy.install(final_path, dict(data, file=f"{req.name}.onnx"))
    return TrainResult(report, card_path, installed, req.run_dir)


def _check_resumable(run_dir: Path, plan: dict) -> None:
    """InputError unless `run_dir` holds a run of the same photos, split the same way."""
    try:
        before = json.loads((run_dir / "split.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"--resume: {run_dir} holds no run to resume (no readable split.json)") from None
    if {k: before.get(k) for k in plan} != plan:
        raise InputError(f"--resume: {run_dir} was trained on other photos or another split; "
                         "resume with the same DATA, --seed and --folds, or start a new --run-dir")


def _stop_note(label: str, outcome: Outcome) -> str:
    """Why a training run ended, and which epoch's weights it kept."""
    return (f"{label}: {len(outcome.history)} epochs, ended by {outcome.stopped}; kept epoch {outcome.best_epoch} "
            f"(validation IoU {iou_text(outcome.best_iou)})")


def _light(scores: list[Score]) -> list[Score]:
    return [replace(s, alpha=None) for s in scores]


def _share_time(config: TrainConfig, started: float, runs_left: int) -> TrainConfig:
    """The run's share of what is left of --time-limit."""
    if config.time_limit is None:
        return config
    left = max(1.0, config.time_limit - (time.monotonic() - started))
    return replace(config, time_limit=left / max(1, runs_left))


def _device_name(device: str) -> str:
    return str(pick_device(device))


def _general(req: TrainRequest, model: Path, problems: list[str], say: Say) -> tuple[dict, dict]:
    """The base and the new model's means on the --general set (a mask folder or any format)."""
    collected = collect([req.general])
    problems += [f"--general: {p}" for p in collected.problems]
    photos = [(pair.image.stem, *pair.load()) for pair in collected.pairs]
    if not photos:
        raise InputError(f"--general {req.general}: no photo and mask pairs in it")
    say(f"scoring {len(photos)} general photos with {req.base} and {req.name}")
    return means(score(req.base, photos, req.edges)), means(score(str(model), photos, req.edges))


def _provenance(req: TrainRequest, base, photos: list[Photo], parts: list[split.Split], report: card.RunReport,
                extra: dict, data_fingerprint: str) -> dict:
    names = [p.name for p in photos]
    return {
        **extra, "base": base.name, "base_sha256": base.sha256, "date": date.today().isoformat(),
        "pairs": len(photos), "data": [str(p) for p in req.data], "data_fingerprint": data_fingerprint,
        "split": [part.as_dict(names) for part in parts], "folds": req.folds or 0,
        "epochs": [len(h) for h in report.histories], "samples": report.samples,
        "seconds": round(report.seconds, 1), "edges": req.edges,
        "figures": {label: {m: round(card.summary(scores, m)[0], 4) for m in ("iou", "boundary_f", "mad")}
                    for label, scores in (("base", report.base_scores), ("trained", report.new_scores))},
    }
