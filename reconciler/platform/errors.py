"""SDK errors -> the project's `PlatformError`, with a hint naming the fix and the platform's
Retry-After. Never includes the key."""

from __future__ import annotations

from typing import Any

import miru_platform_sdk as sdk

from reconciler.errors import PlatformError
from reconciler.platform.retry import retry_after

API_VERSION = "2026-08-17.everglades"


def map_error(exc: Exception, what: str) -> PlatformError:
    """Turn an SDK error into a PlatformError."""
    if isinstance(exc, sdk.APIStatusError):
        return _status_error(exc, what)
    if isinstance(exc, sdk.APITimeoutError):
        return PlatformError(
            f"{what}: the platform did not answer in time", hint="check the network and the base URL"
        )
    if isinstance(exc, sdk.APIConnectionError):
        return PlatformError(f"{what}: cannot reach the platform", hint="check the network and the base URL")
    return PlatformError(f"{what}: {exc}")


def _status_error(exc: sdk.APIStatusError, what: str) -> PlatformError:
    status = exc.status_code
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    raw_err = body.get("error")
    err: dict[str, Any] = raw_err if isinstance(raw_err, dict) else {}
    raw_params = err.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    message = str(err.get("message") or exc.message)
    code = err.get("code")
    scope = f" ({params['scope']})" if params.get("scope") else ""
    hints = {
        400: f"the platform rejected the request; this client speaks Miru-Version {API_VERSION}",
        401: "check MIRU_API_KEY: it is missing, wrong or revoked",
        403: f"the API key lacks a scope this command needs{scope}",
        404: "the object does not exist (was it deleted in the dashboard?)",
        409: "the device changed since it was read (parent_id mismatch)",
        429: "the platform is rate limiting; retry later",
    }
    server = "the platform returned an error; retry, and report it if it persists"
    return PlatformError(
        f"{what}: HTTP {status}: {message}",
        status=status,
        hint=hints.get(status, server if status >= 500 else None),
        code=str(code) if code else None,
        retry_after=retry_after(exc.response),
    )
