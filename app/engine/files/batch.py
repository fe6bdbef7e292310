"""Background removal for batches of photos, on all cores, with a quality report."""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from app.engine.backgrounds.base import Background
from app.engine.backgrounds.spec import parse_still_background
from app.engine.compositing.base import composite
from app.engine.core.errors import BackdropError, InputError, OutputError
from app.engine.imaging.images import IMAGE_EXTENSIONS, load_image_rgb, write_file, write_reason
from app.engine.matting.models.onnx import share_cores, usable_cores
from app.engine.matting.presets import MatteSettings
from app.engine.matting.refiner import MatteRefiner
from app.engine.matting.segmenter import Segmenter
from app.engine.outputs.atomic import (
    already_exists,
    check_writable_target,
    commit,
    discard,
    partial_path,
    probe_writable,
    remove_stale_partials,
)
from app.engine.sources.images import list_images

FORMATS = ("png", "jpg", "webp")
UNCERTAIN_LOW, UNCERTAIN_HIGH = 0.2, 0.8
MIN_PERSON_SHARE = 0.01   # less than this is "no person found"
MAX_UNCERTAIN_SHARE = 0.08  # more of the picture than this undecided: a person should look


@dataclass(frozen=True)
class MatteQuality:
    """How sure the model was. `confidence` is 1 when every pixel is clearly person or
    clearly background, falling to 0 as the undecided share reaches twice the flag level."""

    person_share: float
    uncertain_share: float
    confidence: float
    flag: str  # "" when fine, else the reason a person should review it


def matte_quality(confidence_map: np.ndarray) -> MatteQuality:
    """Judge a confidence map (float 0..1) by how much of it is undecided."""
    person = float(np.mean(confidence_map > 0.5))
    uncertain = float(np.mean((confidence_map > UNCERTAIN_LOW) & (confidence_map < UNCERTAIN_HIGH)))
    score = max(0.0, 1.0 - uncertain / (2 * MAX_UNCERTAIN_SHARE))
    flag = ""
    if person < MIN_PERSON_SHARE:
        flag, score = "no person found", 0.0
    elif uncertain > MAX_UNCERTAIN_SHARE:
        flag = f"uncertain matte ({uncertain:.0%} of the picture undecided)"
    return MatteQuality(person, uncertain, round(score, 3), flag)


@dataclass(frozen=True)
class RemoveJob:
    source: Path
    target: Path
    background: str  # a --background SPEC, as `process` takes (parse_still_background)
    model: str | None  # None: the preset's choice for each photo's shape
    overwrite: bool
    settings: MatteSettings


@dataclass(frozen=True)
class RemoveResult:
    source: str
    output: str
    status: str  # ok, flagged, failed
    confidence: float
    person_share: float
    uncertain_share: float
    note: str
    ms: float


def collect_inputs(items: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders to their images; returns the images and one error line per bad item."""
    images, errors = [], []
    for item in items:
        if item.is_dir():
            try:
                images.extend(list_images(item))
            except InputError as exc:
                errors.append(str(exc))
        elif not item.exists():
            errors.append(f"{item}: no such file")
        elif item.suffix.lower() not in IMAGE_EXTENSIONS:
            errors.append(f"{item}: not an image ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        else:
            images.append(item)
    return images, errors


def plan_targets(images: list[Path], outdir: Path, fmt: str) -> list[tuple[Path, Path]]:
    """Pair each image with `outdir/<stem>.<fmt>`, adding -1, -2 ... when stems repeat."""
    used: set[str] = set()
    pairs = []
    for image in images:
        name, n = f"{image.stem}.{fmt}", 1
        while name in used:
            name, n = f"{image.stem}-{n}.{fmt}", n + 1
        used.add(name)
        pairs.append((image, outdir / name))
    return pairs


_worker_segmenters: dict[str, Segmenter] = {}  # one IMAGE-mode segmenter per model, per process
_worker_backgrounds: dict[str, Background] = {}


def _background_for(spec: str) -> Background:
    if spec not in _worker_backgrounds:
        _worker_backgrounds[spec] = parse_still_background(spec)
    return _worker_backgrounds[spec]


def close_backgrounds() -> None:
    """Close the backgrounds `remove_one` opened in this process (a scene holds the GL thread)."""
    while _worker_backgrounds:
        _worker_backgrounds.popitem()[1].close()


def remove_one(job: RemoveJob) -> RemoveResult:
    """Cut out one photo and write it; never raises for a bad file, reports it instead."""
    t0 = time.perf_counter()
    try:
        if job.source.resolve() == job.target.resolve():
            raise OutputError(f"{job.target}: output is the same path as the input; refusing to overwrite it")
        if os.path.lexists(job.target) and not job.overwrite:
            raise already_exists(job.target)
        image = load_image_rgb(job.source)
        model = job.model or job.settings.photo_model_for((image.shape[1], image.shape[0]))
        if model not in _worker_segmenters:
            _worker_segmenters[model] = Segmenter(model, video=False)
        confidence = _worker_segmenters[model].confidence(image)
        quality = matte_quality(confidence)
        alpha = MatteRefiner(job.settings).refine(confidence, image)
        background = _background_for(job.background).render(image, 0.0)
        write_image(job.target, composite(image, alpha, background), job.overwrite)
        status = "flagged" if quality.flag else "ok"
        return RemoveResult(str(job.source), str(job.target), status, quality.confidence,
                            round(quality.person_share, 4), round(quality.uncertain_share, 4), quality.flag,
                            round((time.perf_counter() - t0) * 1000, 1))
    except BackdropError as exc:
        return RemoveResult(str(job.source), "", "failed", 0.0, 0.0, 0.0, str(exc),
                            round((time.perf_counter() - t0) * 1000, 1))


def write_image(target: Path, image: np.ndarray, overwrite: bool = True) -> None:
    """Write RGB or RGBA `image` to `target` (format by extension) via a temporary name;
    without `overwrite`, OutputError if `target` exists by then (see `atomic.commit`)."""
    code = cv2.COLOR_RGBA2BGRA if image.ndim == 3 and image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    partial = partial_path(target)
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95], ".webp": [cv2.IMWRITE_WEBP_QUALITY, 95]}
    try:
        ok, data = cv2.imencode(target.suffix, cv2.cvtColor(image, code), params.get(target.suffix.lower(), []))
        if not ok:
            raise OutputError(f"{target}: cannot encode as {target.suffix}")
        write_file(partial, data, name=target)  # a full disk says so, naming the target
        commit(partial, target, overwrite)
    except OSError as exc:
        discard(partial)
        raise OutputError(f"{target}: cannot be written ({write_reason(exc)})") from None
    except BaseException:  # a stop signal midway: nothing half-written stays
        discard(partial)
        raise


def run_jobs(jobs: list[RemoveJob], workers: int,
             on_result: Callable[[RemoveResult], None] | None = None) -> list[RemoveResult]:
    """Run `jobs` on `workers` processes (in this process if 1); results in input order.
    `on_result` sees each result as soon as it is done (with several workers, in the order
    they finish), so that a stop midway still knows of every photo finished by then."""
    results: list[RemoveResult] = []
    iterator: Iterator[RemoveResult]
    if workers <= 1 or len(jobs) <= 1:
        iterator = map(remove_one, jobs)
        try:
            for result in iterator:
                results.append(result)
                if on_result:
                    on_result(result)
        finally:
            close_backgrounds()
        return results
    threads = max(1, usable_cores() // workers)  # each worker's share of the cores, for its models
    try:
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker, initargs=(threads,)) as pool:
            done: dict[int, RemoveResult] = {}
            for index, result in pool.imap_unordered(_remove_numbered, enumerate(jobs)):
                done[index] = result
                if on_result:
                    on_result(result)
            results = [done[index] for index in range(len(jobs))]
    except BaseException:
        # the pool has ended its workers (SIGTERM), some perhaps midway through a photo
        for folder in {job.target.parent for job in jobs}:
            remove_stale_partials(folder)
        raise
    return results


def _remove_numbered(numbered: tuple[int, RemoveJob]) -> tuple[int, RemoveResult]:
    return numbered[0], remove_one(numbered[1])


def _start_worker(threads: int) -> None:
    """A worker leaves Ctrl-C and a closed terminal (sent to the whole process group) to the
    parent, which stops the pool; it takes its share of the cores."""
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    share_cores(threads)


def check_report_target(path: Path, inputs: list[Path], overwrite: bool) -> None:
    """Raise OutputError (one line naming `path`) unless the report can be written there:
    not an input, not existing (without `overwrite`), in a folder that takes new files."""
    if path.is_dir():
        raise OutputError(f"{path}: report path is a folder")
    check_writable_target(path, inputs, overwrite)


def check_outdir(outdir: Path) -> list[Path]:
    """Create `outdir` if missing and make sure a file can be created in it; else OutputError
    (and nothing created stays). Returns the folders it created, outermost first; stale
    temporary files of a killed run there are removed."""
    missing = [folder for folder in (outdir, *outdir.parents) if not folder.exists()][::-1]
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        remove_empty_folders(missing)
        raise OutputError(f"{outdir}: cannot be created ({exc.strerror})") from None
    try:
        probe_writable(outdir, outdir)
    except OutputError:
        remove_empty_folders(missing)
        raise
    remove_stale_partials(outdir)
    return missing


def remove_empty_folders(created: list[Path]) -> None:
    """Remove the folders in `created` (outermost first) that are still empty, innermost first."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): neither can its parents be


def write_report(path: Path, results: list[RemoveResult], overwrite: bool = True) -> None:
    """One CSV row per image, written via a temporary name; without `overwrite`, an
    existing `path` is kept and OutputError says so."""
    partial = partial_path(path)
    try:
        with partial.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(RemoveResult.__dataclass_fields__))
            writer.writeheader()
            for result in results:
                writer.writerow(asdict(result))
        commit(partial, path, overwrite)
    except OSError as exc:
        discard(partial)
        raise OutputError(f"{path}: report cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        discard(partial)
        raise
