"""The worker process: holds its own model sessions (cached by `remove_one`, one process
per worker, one request at a time) and runs one `WorkOrder` per message on its pipe.

Messages in: `(order, source, target, name, background)` paths inside the request's
temporary folder, or None to stop. Out: first `("ready", pid, problems)` once the default
models are loaded, then one result dict per order."""

from __future__ import annotations

import os
import signal
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

import cv2
import numpy as np

from app.engine.matting.models.onnx import share_cores
from app.engine.matting.presets import MatteSettings
from app.service.options import UPLOADED_BACKGROUND, WorkOrder

KEPT_BACKGROUNDS = 16  # backgrounds kept open per worker between requests (then all closed)
_seen_backgrounds: set[str] = set()


def worker_main(conn: Connection, threads: int, warm_up: bool) -> None:
    """Serve orders from `conn` until it closes or None arrives. Ctrl-C and a closed
    terminal are left to the server, which stops its workers itself."""
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    share_cores(threads)  # the model sessions' threads; OpenCV's and the edge solver's too
    cv2.setNumThreads(threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))  # (numba is imported with the models, below)
    problems = warm() if warm_up else []
    conn.send(("ready", os.getpid(), problems))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        try:
            reply = run_order(*message)
        except Exception as exc:  # a bug met by one request: said in its answer; the worker goes on
            reply = {"status": "failed", "subject": "", "confidence": 0.0, "share": 0.0, "ms": 0.0,
                     "note": f"internal error: {type(exc).__name__}: {exc}", "client_error": False}
        conn.send(reply)


def sample_picture(size: tuple[int, int] = (160, 120)) -> np.ndarray:
    """A small RGB picture: a red disc and a blue box on a textured green-grey ground."""
    w, h = size
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w]
    ground = np.stack([90 + 30 * np.sin(xx / 5.0), 120 + 20 * np.cos(yy / 7.0), 80 + 0 * xx], -1)
    picture = np.clip(ground + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    cv2.circle(picture, (w * 2 // 5, h // 2), min(w, h) // 4, (220, 40, 30), -1)
    cv2.rectangle(picture, (w * 3 // 5, h // 3), (w * 4 // 5, h * 3 // 4), (30, 60, 200), -1)
    return picture


def warm() -> list[str]:
    """Cut out a small picture as an object and as a person, so that the default models are
    loaded (and the edge solver compiled) before the first request; the problems met."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="backdrop-warm-") as folder:
        source = Path(folder) / "warm.png"
        cv2.imwrite(str(source), cv2.cvtColor(sample_picture(), cv2.COLOR_RGB2BGR))
        for subject in ("object", "person"):
            result = run_order(WorkOrder(subject=subject), str(source), str(Path(folder) / f"{subject}.png"),
                               "warm-up", None)
            if result["status"] == "failed":
                problems.append(f"{subject}: {result['note']}")
    return problems


def run_order(order: WorkOrder, source: str, target: str, name: str, background: str | None) -> dict:
    """Cut out `source` into `target` as `order` says; the result as a dict (status,
    subject, confidence, share, note with the temporary paths replaced by the client's
    names, client_error: whether a failure was the input's or the options' fault)."""
    from app.engine.files.cutout import RemoveJob, close_workers_parts, remove_one  # loads the models: workers only

    spec = background if order.background == UPLOADED_BACKGROUND and background else order.background
    job = RemoveJob(Path(source), Path(target), spec, order.model, True, MatteSettings(), order.subject,
                    order.edges, order.layout, order.jpeg_quality)
    try:
        result = remove_one(job)
        status, note = result.status, result.note
        if status != "failed":
            note = _finish(order, target) or note
            status = "failed" if note and note.startswith("result:") else status
    finally:
        _seen_backgrounds.add(spec)
        if order.background == UPLOADED_BACKGROUND or len(_seen_backgrounds) > KEPT_BACKGROUNDS:
            close_workers_parts()
            _seen_backgrounds.clear()
    client_error = status == "failed" and not note.startswith("result:") and target not in result.note
    for path, shown in ((source, name), (target, "result"), (background or "\0", "bg_image_file")):
        note = note.replace(path, shown)
    return {"status": status, "subject": result.subject, "confidence": result.confidence,
            "share": result.subject_share, "note": note, "ms": result.ms, "client_error": client_error}


def _finish(order: WorkOrder, target: str) -> str:
    """The matte alone (channels=alpha) and the result scaled to its largest size, in
    place; "" when done, else a note starting "result:"."""
    if order.channels == "rgba" and order.max_result_pixels is None:
        return ""
    image = cv2.imread(target, cv2.IMREAD_UNCHANGED)
    if image is None:
        return "result: cannot be read back"
    if order.channels == "alpha":
        image = image[..., 3] if image.ndim == 3 and image.shape[2] == 4 else np.full(image.shape[:2], 255, np.uint8)
    h, w = image.shape[:2]
    cap = order.max_result_pixels
    if cap is not None and w * h > cap:
        s = (cap / (w * h)) ** 0.5
        image = cv2.resize(image, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    quality = {".jpg": cv2.IMWRITE_JPEG_QUALITY, ".webp": cv2.IMWRITE_WEBP_QUALITY}.get(order.suffix)
    params = [quality, order.jpeg_quality] if quality is not None else []
    if not cv2.imwrite(target, image, params):
        return "result: cannot be written"
    return ""
