"""Errors the API answers with, all in remove.bg's shape:
`{"errors": [{"title": "...", "code": "...", "detail": "..."}]}`."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An answer other than success: `status`, a machine `code`, a one-line `title`."""

    def __init__(self, status: int, code: str, title: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.code, self.title, self.headers = status, code, title, headers or {}


def error_body(code: str, title: str) -> dict:
    return {"errors": [{"title": title, "code": code}]}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.title), status_code=exc.status, headers=exc.headers)


def bad_request(title: str, code: str = "invalid_parameters") -> ApiError:
    return ApiError(400, code, title)
