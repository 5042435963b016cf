"""The platform's error envelope (`{"error": {code, message, params}}`) and the errors handlers
raise: 400 invalid, 404 not found, 409 conflict, 422 unprocessable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.params = dict(params or {})

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.params)


def error_response(
    status: int,
    code: str,
    message: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "params": dict(params or {})}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident!r} not found", {"id": ident, "resource": what})


def invalid(message: str, **params: Any) -> ApiError:
    return ApiError(400, "invalid_request", message, params)


def unprocessable(message: str, code: str = "validation_failed", **params: Any) -> ApiError:
    """422: `validation_failed` (with `params.field`) unless a rule has its own code
    (docs/emulator.md lists them all)."""
    return ApiError(422, code, message, params)


def conflict(message: str, code: str, **params: Any) -> ApiError:
    """409: every conflict names its rule (`name_taken`, `parent_mismatch`, ...)."""
    return ApiError(409, code, message, params)
