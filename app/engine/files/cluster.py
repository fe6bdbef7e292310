"""Batches of photos on an existing Ray cluster (`backdrop remove --ray`): `remove_one` on a
pool of Ray actors that keep their models loaded. One result per job, in input order; each
output written once and whole (an atomic rename on the driver's side); a worker killed
midway loses nothing (Ray restarts it and resends its calls); a stop (Ctrl-C) ends the
actors and leaves no temporary file. An actor that sees the files works in place, any other
is sent the input's bytes and sends the output's back. See docs/cluster.md."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.engine.core.errors import InputError, OutputError
from app.engine.core.processes import process_running
from app.engine.files.cutout import RemoveJob, RemoveResult, remove_one
from app.engine.files.review import THUMBS
from app.engine.imaging.images import write_file, write_reason
from app.engine.matting.models.onnx import THREADS_ENV, share_cores, usable_cores
from app.engine.outputs.atomic import commit, discard, partial_path, remove_stale_partials

MAX_RESTARTS = -1  # a worker process killed (or its node lost) is started again, however often
MAX_TASK_RETRIES = 2  # Ray resends the calls an actor had when it died...
REQUEUES = 1  # ...then they are sent again, alone (a photo that kills its worker every time fails)
STAGING = "backdrop-ray"  # beside the outputs: .backdrop-ray.partial-PID-XXXXXXXX (a stale one is cleaned)


def _ray() -> Any:
    try:
        import ray  # the optional `cluster` extra
    except ImportError:
        raise InputError("Ray is not installed: pip install backdrop[cluster]") from None
    return ray


def connect(address: str | None) -> bool:
    """Join the cluster at `address`: None or "auto", the one `ray start --head` started here
    (or RAY_ADDRESS's); "HOST[:PORT]", that head's; "local", a new one in this process. One-line
    InputError when there is none. True if this joined (the caller then calls ray.shutdown)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    if address not in (None, "auto", "local") and "://" not in address:
        address = _reachable(address)
    try:
        ray.init(**({"num_cpus": usable_cores(), "include_dashboard": False} if address == "local"
                    else {"address": address or "auto"}), logging_level=logging.ERROR, log_to_driver=False)
    except Exception as exc:  # none there, a version mismatch, a token refused: Ray's own texts are long
        if address in (None, "auto") and isinstance(exc, ConnectionError):
            raise InputError("no Ray cluster runs on this machine: start one with `ray start --head`, "
                             "or pass a head's address (--ray HEAD:6379, or --ray local)") from None
        raise InputError(f"{address}: cannot join the Ray cluster ({_line(exc)}); with token authentication, "
                         "set RAY_AUTH_MODE=token and the cluster's RAY_AUTH_TOKEN") from None
    return True


def _reachable(address: str) -> str:
    """"HOST:PORT"; InputError unless a head answers there (ray.init would wait minutes)."""
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "6379")
    if not host or not port.isdigit():
        raise InputError(f"{address}: not a Ray address (HOST:PORT, auto or local)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise InputError(f"{address}: no Ray head answers there ({exc.strerror or exc})") from None
    return f"{host}:{port}"


def run_jobs_on_ray(jobs: list[RemoveJob], address: str | None,
                    on_result: Callable[[RemoveResult], None] | None = None,
                    actors: int | None = None, stream: bool = False) -> list[RemoveResult]:
    """Run `jobs` on the cluster at `address` (see `connect`) on `actors` actors (by default
    one per CPU of the cluster); results in input order. `stream`: send bytes even where shared."""
    if not jobs:
        return []
    joined = connect(address)
    try:
        if (actors := actors or int(_ray().cluster_resources().get("CPU", 0))) < 1:
            raise InputError("the Ray cluster has no CPU")
        pool = RayPool(min(actors, len(jobs)))
        try:
            return pool.run(jobs, on_result, stream)
        finally:
            pool.close()
    finally:
        if joined:
            _ray().shutdown()


class PhotoWorker:
    """A Ray actor: cuts out photos with `remove_one`, its model sessions loaded once, with
    `threads` threads each; `env` (the driver's BACKDROP_* settings) applies to it."""

    def __init__(self, threads: int, env: dict[str, str]) -> None:
        os.environ.update(env)
        share_cores(threads)
        root = Path(tempfile.gettempdir()) / "backdrop-ray"
        for old in root.glob("*") if root.is_dir() else ():  # scratch of workers killed before
            if old.name.isdigit() and not process_running(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
        self.scratch = root / str(os.getpid())

    def pid(self) -> int:
        return os.getpid()

    def remove(self, job: RemoveJob, staging: str | None, size: int,
               data: bytes | None) -> tuple[RemoveResult | None, dict[str, bytes]]:
        """With `data` None, the photo in place, its output into `staging`; or (None, {}) when
        this worker does not see the files. With `data`, the output's bytes come back."""
        if data is not None:
            return self._streamed(job, data)
        seen = job.source.stat().st_size if job.source.is_file() else -1
        if staging is None or not os.path.isdir(staging) or (size >= 0 and seen != size) \
                or (job.review is not None and not job.review.is_dir()):
            return None, {}
        staged = Path(staging) / job.target.name
        return _renamed(remove_one(replace(job, target=staged, overwrite=True)), {staged: job.target}), {}

    def _streamed(self, job: RemoveJob, data: bytes) -> tuple[RemoveResult, dict[str, bytes]]:
        source, target = self.scratch / "in" / job.source.name, self.scratch / job.target.name
        review = self.scratch / "review" if job.review is not None else None
        try:
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            result = remove_one(replace(job, source=source, target=target, overwrite=True, review=review))
            files = {"": target.read_bytes()} if result.output else {}  # and the thumbnails, by relative path
            for rel in (result.thumbs.original, result.thumbs.cutout) if review and result.thumbs else ():
                if rel:
                    files[rel] = (review / rel).read_bytes()
            return _renamed(result, {source: job.source, target: job.target}), files
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)


@dataclass
class _Slot:
    actor: Any
    busy: int = 0  # calls sent and not yet collected
    streamed: bool = False  # does not see the files: send bytes
    alive: bool = True
    alone: bool = False  # runs a photo sent again, nothing queued behind (if it kills it, it kills no other)


class RayPool:
    """`size` PhotoWorker actors on the joined cluster, `cpus` CPUs (and model threads) each."""

    def __init__(self, size: int, cpus: int = 1) -> None:
        self.ray = _ray()
        env = {k: v for k, v in os.environ.items() if k.startswith("BACKDROP_") and k != THREADS_ENV}
        remote = self.ray.remote(PhotoWorker).options(num_cpus=cpus, max_restarts=MAX_RESTARTS,
                                                      max_task_retries=MAX_TASK_RETRIES)
        self.slots = [_Slot(remote.remote(cpus, env)) for _ in range(max(1, size))]
        self.staging: dict[Path, Path] = {}  # output folder -> its staging folder
        self.folders: set[Path] = set()  # where a killed worker may have left a temporary file

    def run(self, jobs: list[RemoveJob], on_result: Callable[[RemoveResult], None] | None = None,
            stream: bool = False, depth: int = 2) -> list[RemoveResult]:
        """Cut out `jobs`, `depth` calls queued per actor (the next photo is there when one is
        done); results in input order. Any exception (a KeyboardInterrupt) ends the actors."""
        results: list[Any] = [None] * len(jobs)
        queue, inflight, tries = deque(range(len(jobs))), {}, [0] * len(jobs)

        def done(index: int, result: RemoveResult) -> None:
            results[index] = result
            if on_result:
                on_result(result)

        try:
            self.folders |= {job.target.parent for job in jobs} | {j.review / THUMBS for j in jobs if j.review}
            for folder in {job.target.parent for job in jobs} - set(self.staging):
                self.staging[folder] = partial_path(folder / STAGING)
                self.staging[folder].mkdir()  # (`check_outdir` has made sure it can be)
            while queue or inflight:
                for slot in [s for s in self.slots if s.alive] * depth:  # round the actors, a call each
                    if queue and slot.busy < depth and not slot.alone and not (tries[queue[0]] and slot.busy):
                        index = queue.popleft()
                        call = self._submit(jobs[index], slot, stream)
                        if isinstance(call, RemoveResult):
                            done(index, call)
                        else:
                            inflight[call], slot.busy, slot.alone = (index, slot), slot.busy + 1, tries[index] > 0
                if not inflight:  # every photo sent was refused, or no actor is left
                    if any(s.alive for s in self.slots):
                        continue
                    for index in queue:
                        done(index, _failed(jobs[index], f"{jobs[index].source}: no Ray worker is left"))
                    break
                ready, _ = self.ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in ready:
                    index, slot = inflight.pop(ref)
                    slot.busy, slot.alone = slot.busy - 1, False  # (an actor running alone had only this)
                    result = self._collect(ref, jobs[index], slot, tries, index)
                    if result is None:
                        queue.appendleft(index)
                    else:
                        done(index, result)
        except BaseException:  # the calls in flight end with their actors (killed, not restarted)
            for ref in inflight:  # those not started yet go quietly
                with suppress(Exception):
                    self.ray.cancel(ref)
            self.close()
            raise
        return results

    def _submit(self, job: RemoveJob, slot: _Slot, stream: bool) -> Any:
        """The call's ObjectRef, or the result when the photo is refused or cannot be sent."""
        if job.source.resolve() == job.target.resolve() or (os.path.lexists(job.target) and not job.overwrite):
            return remove_one(job)  # refused before reading, as a local run refuses it
        if not (stream or slot.streamed):
            size = job.source.stat().st_size if job.source.is_file() else -1
            return slot.actor.remove.remote(job, str(self.staging[job.target.parent]), size, None)
        try:
            data = job.source.read_bytes()
        except OSError as exc:
            return _failed(job, f"{job.source}: cannot be read ({write_reason(exc)})")
        return slot.actor.remove.remote(job, None, -1, data)

    def _collect(self, ref: Any, job: RemoveJob, slot: _Slot, tries: list[int], index: int) -> RemoveResult | None:
        """The finished call's result, its output committed; None to send the photo again."""
        try:
            result, files = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:  # it died more often than Ray resends a call
            slot.alive, tries[index] = self._answers(slot), tries[index] + 1
            if tries[index] <= REQUEUES and any(s.alive for s in self.slots):
                return None  # perhaps only queued behind the photo that killed it
            return _failed(job, f"{job.source}: the Ray worker cutting it out died ({_line(exc)})")
        except self.ray.exceptions.RayError as exc:
            return _failed(job, f"{job.source}: {_line(getattr(exc, 'cause', None) or exc)}")
        if result is None:  # that worker does not see the files: send the bytes
            slot.streamed = True
            return None
        try:
            if result.output and files:
                _write_bytes(job.target, files.pop(""), job.overwrite)
                for rel, data in files.items():
                    _write_bytes(job.review / rel, data, True)
            elif result.output:
                commit(self.staging[job.target.parent] / job.target.name, job.target, job.overwrite)
        except (OutputError, OSError) as exc:
            return replace(result, output="", status="failed", note=str(exc) if isinstance(exc, OutputError)
                           else f"{job.target}: cannot be written ({write_reason(exc)})")
        return result

    def _answers(self, slot: _Slot) -> bool:  # alive (again, once Ray restarted it)?
        try:
            return bool(self.ray.get(slot.actor.pid.options(max_task_retries=1).remote(), timeout=120))
        except Exception:  # dead for good, or not back within the timeout
            return False

    def close(self) -> None:
        """End the actors, then remove the staging folders and what killed workers left behind."""
        for slot in self.slots:
            with suppress(Exception):  # best effort: it may be gone already
                self.ray.kill(slot.actor, no_restart=True)
                self.ray.get(slot.actor.pid.options(max_task_retries=0).remote(), timeout=10)  # raises: gone
        for _ in range(50):  # a worker killed just now may have been writing its last file there
            for staging in self.staging.values():
                discard(staging)
            if not any(staging.exists() for staging in self.staging.values()):
                break
            time.sleep(0.1)
        self.staging.clear()
        for folder in self.folders:
            remove_stale_partials(folder)


def _renamed(result: RemoveResult, names: dict[Path, Path]) -> RemoveResult:
    """`result` speaking of the driver's paths rather than the worker's own."""
    source, output, note = result.source, result.output, result.note
    for old, new in names.items():
        source, output, note = (s.replace(str(old), str(new)) for s in (source, output, note))
    return replace(result, source=source, output=output, note=note)


def _write_bytes(target: Path, data: bytes, overwrite: bool) -> None:
    partial = partial_path(target)
    try:
        write_file(partial, data, name=target)
        commit(partial, target, overwrite)
    except BaseException:
        discard(partial)
        raise


def _failed(job: RemoveJob, note: str) -> RemoveResult:
    return RemoveResult(str(job.source), "", "failed", "", 0.0, 0.0, note, 0.0, None)


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
