"""The two cut-out endpoints: `/v1/remove` (Backdrop's options) and `/v1.0/removebg`
(remove.bg's), over one path: admit, read the body within its limits, check the image's
header, write it into a temporary folder of its own, run it on a worker, answer, and remove
the folder. Nothing a client sends is written anywhere else."""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.service.config import ServiceConfig
from app.service.errors import ApiError
from app.service.intake import Upload, check_image, media_type, parse_form, read_body, safe_name, unsupported
from app.service.options import UPLOADED_BACKGROUND, WorkOrder, remove_order
from app.service.pool import QueueFull, TimedOut, WorkerLost, WorkerPool
from app.service.removebg import foreground_type, image_of, refuse_urls, removebg_order

CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
RAW_TYPES = ("application/octet-stream", "")


@dataclass(frozen=True)
class CutOut:
    data: bytes
    media_type: str
    result: dict
    size: tuple[int, int]


class CutOuts:
    """The request path shared by both endpoints."""

    def __init__(self, config: ServiceConfig, pool: WorkerPool) -> None:
        self.config, self.pool = config, pool

    async def remove(self, request: Request) -> Response:
        """`POST /v1/remove`: multipart (`image` file, options as fields) or the raw image
        as the body; options also as query parameters. The image back, with X-Subject,
        X-Confidence, X-Review-Flag (1 or 0) and X-Review-Reason headers."""
        with self._admitted() as deadline:
            body = await self._body(request, deadline)
            options = dict(request.query_params)
            if media_type(request) == "multipart/form-data":
                form = parse_form(request, body)
                options.update(form.fields)
                upload = form.files.get("image")
                if upload is None:
                    raise ApiError(400, "missing_image", "no image given: send the file as the multipart field 'image'")
            elif media_type(request).startswith("image/") or media_type(request) in RAW_TYPES:
                upload = Upload(body, "image", media_type(request))
            else:
                raise unsupported(f"a body of type {media_type(request)} (send an image or multipart/form-data)")
            order = remove_order(options)
            cut = await self._cut(upload, None, order, deadline)
        return Response(cut.data, media_type=cut.media_type, headers=_headers(cut.result))

    async def removebg(self, request: Request) -> Response:
        """`POST /v1.0/removebg`: remove.bg's parameters and answers (see `removebg`); with
        `Accept: application/json`, its JSON answer with the result as base64."""
        with self._admitted() as deadline:
            form = parse_form(request, await self._body(request, deadline))
            refuse_urls(form)
            order = removebg_order(form)
            cut = await self._cut(image_of(form), form.files.get("bg_image_file"), order, deadline)
        kind = foreground_type(cut.result["subject"])
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"data": {"result_b64": base64.b64encode(cut.data).decode("ascii"),
                                          "foreground_type": kind, "credits_charged": 0}},
                                headers=_headers(cut.result))
        headers = {**_headers(cut.result), "X-Type": kind, "X-Width": str(cut.size[0]),
                   "X-Height": str(cut.size[1]), "X-Credits-Charged": "0"}
        return Response(cut.data, media_type=cut.media_type, headers=headers)

    @contextmanager
    def _admitted(self) -> Iterator[float]:
        """Inside: the request counts against the queue; yields its deadline (loop time)."""
        try:
            self.pool.admit()
        except QueueFull as exc:
            raise ApiError(503, "queue_full", "the server is busy: try again later",
                           {"Retry-After": str(exc.retry_after_s)}) from None
        try:
            yield asyncio.get_running_loop().time() + self.config.timeout_s
        finally:
            self.pool.release()

    async def _body(self, request: Request, deadline: float) -> bytes:
        try:
            return await asyncio.wait_for(read_body(request, self.config.max_body_bytes),
                                          max(0.01, deadline - asyncio.get_running_loop().time()))
        except asyncio.TimeoutError:
            raise _timed_out(self.config.timeout_s) from None

    async def _cut(self, upload: Upload, background: Upload | None, order: WorkOrder, deadline: float) -> CutOut:
        name = safe_name(upload.filename)
        ext = check_image(upload.data, name, self.config.max_pixels)
        bg_ext = check_image(background.data, "bg_image_file", self.config.max_pixels) if background else None
        with tempfile.TemporaryDirectory(prefix="backdrop-serve-", ignore_cleanup_errors=True) as folder:
            source, target = Path(folder) / f"input{ext}", Path(folder) / f"result{order.suffix}"
            source.write_bytes(upload.data)
            bg_path = None
            if background is not None and order.background == UPLOADED_BACKGROUND:
                bg_path = Path(folder) / f"background{bg_ext}"
                bg_path.write_bytes(background.data)
            try:
                result = await self.pool.run((order, str(source), str(target), name,
                                              str(bg_path) if bg_path else None), deadline)
            except TimedOut:
                raise _timed_out(self.config.timeout_s) from None
            except WorkerLost:
                raise ApiError(500, "worker_lost", "the worker stopped while cutting this image out") from None
            if result["status"] == "failed":
                if result["client_error"]:
                    raise ApiError(400, "invalid_image", result["note"])
                raise ApiError(500, "internal_error", result["note"])
            data = target.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
        return CutOut(data, CONTENT_TYPES[order.suffix], result, size)


def _timed_out(limit: float) -> ApiError:
    return ApiError(504, "timeout", f"the request took longer than {limit:g} s")


def _headers(result: dict) -> dict[str, str]:
    reason = result["note"] if result["status"] == "flagged" else ""
    headers = {"X-Subject": result["subject"], "X-Confidence": f"{result['confidence']:.3f}",
               "X-Review-Flag": "1" if result["status"] == "flagged" else "0"}
    if reason:
        headers["X-Review-Reason"] = reason.encode("ascii", "replace").decode("ascii")
    return headers


