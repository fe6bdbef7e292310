"""ONNX Runtime: one session per model on the best execution provider present (TensorRT,
CUDA, DirectML, CoreML, else CPU), with as many threads as the cores this process may use."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.engine.core.errors import InputError

log = logging.getLogger("backdrop.models")

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "DmlExecutionProvider",
                       "CoreMLExecutionProvider", "CPUExecutionProvider")
THREADS_ENV = "BACKDROP_MODEL_THREADS"  # threads per model session (a batch worker's share)
PROVIDERS_ENV = "BACKDROP_PROVIDERS"  # e.g. "cpu" or "cuda,cpu": the providers to try, in order
SHORT_NAMES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
               "directml": "DmlExecutionProvider", "coreml": "CoreMLExecutionProvider",
               "cpu": "CPUExecutionProvider"}


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def share_cores(threads: int) -> None:
    """Give each model session opened in this process `threads` threads (a batch worker's share)."""
    os.environ[THREADS_ENV] = str(threads)


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers."""
    import onnxruntime as ort  # loads the runtime's native library: only when a model is used

    return list(ort.get_available_providers())


def choose_providers(available: list[str] | None = None) -> list[str]:
    """The providers to ask for, best first, CPU always last; `BACKDROP_PROVIDERS` narrows
    them (unknown names are refused)."""
    available = available_providers() if available is None else available
    wanted = os.environ.get(PROVIDERS_ENV, "").strip()
    order = list(PREFERRED_PROVIDERS)
    if wanted:
        try:
            order = [SHORT_NAMES[name.strip().lower()] for name in wanted.split(",") if name.strip()]
        except KeyError as exc:
            raise InputError(f"{PROVIDERS_ENV}: unknown provider {exc.args[0]!r} "
                             f"(one of {', '.join(SHORT_NAMES)})") from None
    chosen = [p for p in order if p in available and p != "CPUExecutionProvider"]
    return chosen + ["CPUExecutionProvider"]


def short_name(provider: str) -> str:
    """"CUDAExecutionProvider" -> "cuda"."""
    return next((k for k, v in SHORT_NAMES.items() if v == provider), provider)


def open_session(path: Path, threads: int | None = None):
    """An InferenceSession for the .onnx at `path` on the best provider present (falling
    back to the CPU when a GPU provider cannot start). InputError naming the file when it is
    not a model ONNX Runtime can run. Threads: `threads`, else BACKDROP_MODEL_THREADS, else
    every usable core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or int(os.environ.get(THREADS_ENV, 0) or 0) or usable_cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the runtime's own warnings are not a user's business
    providers = choose_providers()
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types with long texts
        if providers != ["CPUExecutionProvider"]:
            log.warning("%s: %s could not start (%s); using the CPU", path.name, providers[0], _line(exc))
            try:
                return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
            except Exception as cpu_exc:
                exc = cpu_exc
        raise InputError(f"{path}: not a model ONNX Runtime can run ({_line(exc)})") from None


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:200] + "...") if len(text) > 200 else text or type(exc).__name__
