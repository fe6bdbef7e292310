"""`create_app(config)`: the FastAPI app of `backdrop serve`. Its worker processes start
with the app (lifespan) and stop with it; see `cutouts` for the two cut-out endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from app.engine.matting.models.mediapipe import BUNDLED_MODELS, bundled_model_dir
from app.engine.matting.models.registry import entries
from app.engine.matting.presets import PHOTO_MODEL
from app.service import openapi
from app.service.config import ServiceConfig
from app.service.cutouts import CutOuts
from app.service.errors import ApiError, error_body, error_response
from app.service.gate import Gate
from app.service.metrics import Metrics
from app.service.pool import WorkerPool

OBJECT_MODELS = ("u2net", "u2netp")  # best first, as `cutout.object_model` takes them
STATUS_CODES = {404: "not_found", 405: "method_not_allowed"}


def create_app(config: ServiceConfig) -> FastAPI:
    """The app for `config`; its workers start when the server starts the app."""
    pool = WorkerPool(config.workers, config.queue, config.warm_up)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="Backdrop", summary="Background removal for photos (remove.bg-compatible)",
                  lifespan=lifespan)
    metrics = Metrics(lambda: pool.admitted, lambda: pool.waiting, lambda: pool.busy, lambda: len(pool.ready))
    app.add_middleware(Gate, api_key=config.api_key, metrics=metrics)
    app.state.pool = pool
    cutouts = CutOuts(config, pool)
    app.add_api_route("/v1/remove", cutouts.remove, methods=["POST"], summary="Cut out one image",
                      response_class=Response, openapi_extra=openapi.REMOVE)
    app.add_api_route("/v1.0/removebg", cutouts.removebg, methods=["POST"], response_class=Response,
                      summary="remove.bg-compatible cut-out", openapi_extra=openapi.REMOVEBG)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(STATUS_CODES.get(exc.status_code, "error"), str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_parameters", "invalid request"), status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal_error", f"internal error ({type(exc).__name__})"), status_code=500)

    @app.get("/v1/models", summary="The models a request may name, and the defaults")
    async def models() -> dict:
        return {"models": model_rows(), "defaults": {"person": PHOTO_MODEL, "object": default_object_model()}}

    @app.get("/healthz", summary="The server answers")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="Every worker has its models loaded")
    async def readyz() -> JSONResponse:
        ready, problems = len(pool.ready), pool.problems
        ok = ready == config.workers and not problems
        return JSONResponse({"ready": ok, "workers": config.workers, "ready_workers": ready, "problems": problems},
                            status_code=200 if ok else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def model_rows() -> list[dict]:
    """name, task (person or object), runtime, installed, for every model a request may name."""
    rows = [{"name": name, "task": "person", "runtime": "mediapipe", "installed": (bundled_model_dir() / file).is_file()}
            for name, (file, _size) in BUNDLED_MODELS.items()]
    for entry in entries():
        m = entry.manifest
        rows.append({"name": m.name, "task": m.task, "runtime": m.runtime, "installed": entry.installed,
                     "title": m.title, "trained": bool(m.trained)})
    return rows


def default_object_model() -> str:
    """The object model a request gets by default: the best one installed."""
    installed = {e.manifest.name for e in entries() if e.installed}
    return next((name for name in OBJECT_MODELS if name in installed), OBJECT_MODELS[-1])
