"""The ASGI layer in front of every route: the API key (when one is set) and the metrics.

Promises: with a key set, a request to anything but the probes and the API description
(`OPEN_PATHS`) without header `X-Api-Key` equal to it (compared in constant time) gets 401
before its body is read; every answer is counted by endpoint and status, with its time."""

from __future__ import annotations

import hmac
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.service.errors import error_body
from app.service.metrics import Metrics

OPEN_PATHS = {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


class Gate:
    def __init__(self, app: ASGIApp, api_key: str | None, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self.key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        path = scope.get("path", "")

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.key is not None and path not in OPEN_PATHS and not self._key_ok(scope):
                await _answer(counting_send, 401, error_body("unauthorized", "a valid X-Api-Key header is required"))
                return
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.observe(path, status, time.perf_counter() - started)

    def _key_ok(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", []):
            if name.lower() == b"x-api-key":
                given = value.strip()
        assert self.key is not None
        return hmac.compare_digest(given, self.key)


async def _answer(send: Send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
