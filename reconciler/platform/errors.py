"""SDK errors -> the project's `PlatformError`, with a hint naming the fix and the platform's
Retry-After. Never includes the key."""

from __future__ import annotations

import re
import socket
import ssl
from typing import Any

import httpx
import miru_platform_sdk as sdk

from reconciler.errors import PlatformError
from reconciler.platform.retry import retry_after

API_VERSION = "2026-08-17.everglades"


def map_error(exc: Exception, what: str, base_url: str | None = None) -> PlatformError:
    """Turn an SDK error into a PlatformError. With the `base_url`, network errors name it and
    their cause, and a 404 from a base URL without `/beta` (or from a server that is not the
    platform) says so."""
    if isinstance(exc, sdk.APIStatusError):
        return _status_error(exc, what, base_url)
    at = f" at {base_url}" if base_url else ""
    if isinstance(exc, sdk.APITimeoutError):
        return PlatformError(
            f"{what}: the platform{at} did not answer in time", hint="check the network and the base URL"
        )
    if isinstance(exc, sdk.APIConnectionError):
        return PlatformError(
            f"{what}: cannot reach the platform{at}: {connection_cause(exc)}",
            hint="check the network and the base URL",
        )
    return PlatformError(f"{what}: {exc}")


def connection_cause(exc: BaseException) -> str:
    """The innermost reason a connection failed, in words: `connection refused`, `host not
    found`, ... (the SDK's own message is only "Connection error.")."""
    found: BaseException = exc
    seen = 0
    x: BaseException | None = exc
    while x is not None and seen < 10:
        found, seen = x, seen + 1
        x = x.__cause__ or x.__context__
    if isinstance(found, ConnectionRefusedError):
        return "connection refused"
    if isinstance(found, socket.gaierror):
        return f"host not found ({found.strerror or found})".replace("(Name", "(name")
    if isinstance(found, TimeoutError):
        return "timed out"
    if isinstance(found, ssl.SSLError):
        return f"TLS error ({found.reason or found})"
    text = re.sub(r"^\[Errno -?\d+\] ", "", str(found)).strip()
    return text[:1].lower() + text[1:] if text else type(found).__name__


def _status_error(exc: sdk.APIStatusError, what: str, base_url: str | None = None) -> PlatformError:
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
    hint = hints.get(status, server if status >= 500 else None)
    if status == 404 and base_url and not httpx.URL(base_url).path.rstrip("/").endswith("/beta"):
        hint = f"the platform API is under /beta: is the base URL {base_url}/beta?"
    elif status == 404 and base_url and not err:  # not the platform's error body
        hint = f"{base_url} does not answer like the Miru platform API: check the base URL"
    return PlatformError(
        f"{what}: HTTP {status}: {message}",
        status=status,
        hint=hint,
        code=str(code) if code else None,
        retry_after=retry_after(exc.response),
    )
