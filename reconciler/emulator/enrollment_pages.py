"""A page of a device's enrollment history: the query (status filter, sort, page size) checked,
records sorted with the id breaking ties, and opaque cursors that only continue their own query."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from reconciler.emulator.enrollment_access import ApiError

STATUSES = ("success", "error", "pending")


SORT_FIELDS = ("enrollment_date", "status", "created_at")


SORT_ORDERS = ("asc", "desc")


DEFAULT_PAGE_SIZE = 50


MAX_PAGE_SIZE = 500


def _when(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def parse_list_query(params: dict[str, str]) -> tuple[str | None, str, str, int, str | None]:
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise _invalid(f"Invalid status {status!r}; expected one of {', '.join(STATUSES)}", "status", status)
    sort_by = params.get("sort_by", "enrollment_date")
    if sort_by not in SORT_FIELDS:
        raise _invalid(
            f"Invalid sort_by {sort_by!r}; expected one of {', '.join(SORT_FIELDS)}", "sort_by", sort_by
        )
    sort_order = params.get("sort_order", "desc")
    if sort_order not in SORT_ORDERS:
        raise _invalid(f"Invalid sort_order {sort_order!r}; expected asc or desc", "sort_order", sort_order)
    raw_size = params.get("page_size", str(DEFAULT_PAGE_SIZE))
    try:
        page_size = int(raw_size)
    except ValueError:
        raise _invalid("page_size must be an integer", "page_size", raw_size) from None
    if page_size < 1:
        raise _invalid("page_size must be at least 1", "page_size", raw_size)
    return status, sort_by, sort_order, min(page_size, MAX_PAGE_SIZE), params.get("cursor")


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:16]


def encode_cursor(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> int:
    """The offset a cursor stands for. A cursor only continues the query that issued it."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, issued_for = data["o"], data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "invalid_cursor", "Invalid pagination cursor", {"cursor": cursor}) from None
    if issued_for != fingerprint or not isinstance(offset, int) or offset < 0:
        raise ApiError(
            400,
            "invalid_cursor",
            "The cursor does not belong to this query; start again without a cursor",
            {"cursor": cursor},
        )
    return offset


def list_page(
    records: list[dict[str, Any]], query: tuple[str | None, str, str, int, str | None], scope: str
) -> dict[str, Any]:
    status, sort_by, sort_order, page_size, cursor = query
    matching = [r for r in records if status is None or r["status"] == status]

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        primary = r["status"] if sort_by == "status" else _when(r[sort_by])
        return (primary, r["id"])  # id breaks ties so pages never overlap

    matching.sort(key=key, reverse=sort_order == "desc")
    fingerprint = _fingerprint(scope, status, sort_by, sort_order)
    offset = decode_cursor(cursor, fingerprint) if cursor else 0
    page = matching[offset : offset + page_size]
    end = offset + len(page)
    return {
        "data": [
            {"id": r["id"], "status": r["status"], "enrollment_date": r["enrollment_date"]} for r in page
        ],
        "total_count": len(matching),
        "next_cursor": encode_cursor(end, fingerprint) if end < len(matching) else None,
    }


def _invalid(message: str, parameter: str, value: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, {"parameter": parameter, "value": value})
