"""Background removal for batches of photos, on all cores, with a quality report."""

from __future__ import annotations

import csv
import multiprocessing
import signal
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from app.engine.core.errors import InputError, OutputError
from app.engine.files.cutout import RemoveJob, RemoveResult, close_workers_parts, remove_one
from app.engine.matting.models.onnx import share_cores, usable_cores
from app.engine.outputs.atomic import (
    check_writable_target,
    commit,
    discard,
    partial_path,
    probe_writable,
    remove_stale_partials,
)
from app.engine.sources.images import not_read_reason, scan_folder

FORMATS = ("png", "jpg", "webp")


def collect_inputs(items: list[Path]) -> tuple[list[Path], list[str], list[str]]:
    """Expand folders to their images. Returns the images, one error line per item that
    cannot be used (a bad path, a named file that is not an image, a folder without images),
    and one line per other file in a folder that is not read (PATH: reason)."""
    images, errors, skipped = [], [], []
    for item in items:
        if item.is_dir():
            try:
                found, lines = scan_folder(item)
            except InputError as exc:
                errors.append(str(exc))
                continue
            images.extend(found)
            if found:
                skipped.extend(lines)
            else:  # the last line says the folder has no images
                skipped.extend(lines[:-1])
                errors.append(lines[-1])
        elif not item.exists():
            errors.append(f"{item}: no such file")
        elif (reason := not_read_reason(item)) is not None:
            errors.append(f"{item}: {reason}")
        else:
            images.append(item)
    return images, errors, skipped


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
            close_workers_parts()
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
            writer = csv.DictWriter(fh, fieldnames=[f for f in RemoveResult.__dataclass_fields__ if f != "thumbs"])
            writer.writeheader()
            for result in results:
                row = asdict(result)
                row.pop("thumbs", None)  # the review page's, not the report's
                writer.writerow(row)
        commit(partial, path, overwrite)
    except OSError as exc:
        discard(partial)
        raise OutputError(f"{path}: report cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        discard(partial)
        raise
