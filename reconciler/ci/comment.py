"""One pull-request comment per project path, updated in place.

The comment starts with a hidden marker (`<!-- reconcile:plan path=examples -->`). Upsert
lists the PR's issue comments (every page: busy PRs have more than 100), PATCHes the first
one that starts with the marker, and POSTs a new one only when there is none. Bodies are
cut to GitHub's 65,536-character limit without breaking code fences or <details> blocks.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from reconciler.errors import ReconcileError, redact

# GitHub's limit on an issue comment body. GitHub counts characters; counting UTF-16 code
# units (what a JavaScript string length is) is never smaller, so it is the safe measure.
COMMENT_LIMIT = 65_536
PER_PAGE = 100
API_VERSION = "2022-11-28"


class CommentError(ReconcileError):
    """GitHub refused or could not be reached. Never carries the token."""


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated", "unchanged"]
    id: int
    url: str


def marker_for(path: str) -> str:
    """The hidden marker for a project path. Percent-encoding keeps `-->` (and any other
    odd character in a path) from ending the HTML comment early."""
    normalized = posixpath.normpath(path.strip().replace("\\", "/")).strip("/") or "."
    return f"<!-- reconcile:plan path={quote(normalized, safe='/._~+@')} -->"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_comment(
    marker: str,
    content: str,
    footer: str = "",
    limit: int = COMMENT_LIMIT,
    *,
    full: str = "the job summary and the workflow artifact",
) -> str:
    """`marker` + `content` + `footer`, with `content` cut at a line boundary when the whole
    would exceed `limit`, and a note saying how much was left out and where `full` content is.
    Open code fences and <details> blocks are closed after the cut."""
    body = _join(marker, content, footer)
    if utf16_len(body) <= limit:
        return body
    total = len(content.rstrip("\n").splitlines())

    def note(kept: str) -> str:
        left = total - len(kept.splitlines())
        return (
            f"\n\n> **Truncated** to fit one GitHub comment: the last {left} of {total} lines "
            f"are not shown. All of it is in {full}.\n"
        )

    # Room for closing what the cut leaves open (a fence and a few </details>) and the note.
    reserve = utf16_len(marker) + utf16_len(footer) + utf16_len(note("")) + 200
    budget = max(0, limit - reserve)
    cut = _cut_utf16(content, budget)
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    body = _join(marker, cut + _closers(cut) + note(cut), footer)
    while utf16_len(body) > limit:  # only with absurdly many open <details>; drop lines until it fits
        cut = cut[: max(0, cut.rfind("\n"))]
        body = _join(marker, cut + _closers(cut) + note(cut), footer)
    return body


def _join(marker: str, content: str, footer: str) -> str:
    parts = [marker, content.rstrip("\n")]
    if footer:
        parts.append(footer)
    return "\n".join(parts) + "\n"


def _cut_utf16(text: str, units: int) -> str:
    encoded = text.encode("utf-16-le")[: units * 2]
    return encoded.decode("utf-16-le", errors="ignore")


def _closers(text: str) -> str:
    closers = ""
    fences = [m.group(1) for m in re.finditer(r"(?m)^\s*(```+|~~~+)", text)]
    if len(fences) % 2 == 1:
        closers += "\n" + fences[-1]
    open_details = len(re.findall(r"(?i)<details\b", text)) - len(re.findall(r"(?i)</details>", text))
    closers += "\n</details>" * max(0, open_details)
    return closers


def client(api_url: str, token: str, *, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for GitHub's REST API. The token travels only in the Authorization header."""
    return httpx.Client(
        base_url=api_url.rstrip("/"),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "reconciler-action",
        },
        timeout=httpx.Timeout(30.0),
        transport=transport or httpx.HTTPTransport(retries=2),
    )


def find_comment(http: httpx.Client, repository: str, number: int, marker: str) -> dict[str, Any] | None:
    """The first comment on the PR whose body starts with `marker`, following every page."""
    url: str | None = f"/repos/{repository}/issues/{number}/comments"
    params: dict[str, Any] | None = {"per_page": PER_PAGE}
    while url:
        response = _send(http, "GET", url, params=params)
        for item in response.json():
            body = item.get("body") or ""
            if body.lstrip().startswith(marker):
                return dict(item)
        next_link = response.links.get("next", {}).get("url")
        url, params = (next_link, None) if next_link else (None, None)
    return None


def upsert_comment(http: httpx.Client, repository: str, number: int, marker: str, body: str) -> CommentResult:
    if not body.startswith(marker):
        raise ValueError("the comment body must start with its marker")
    if utf16_len(body) > COMMENT_LIMIT:
        raise ValueError("the comment body is over GitHub's limit; build it with fit_comment")
    existing = find_comment(http, repository, number, marker)
    if existing is not None:
        if (existing.get("body") or "") == body:
            return CommentResult("unchanged", int(existing["id"]), str(existing.get("html_url", "")))
        response = _send(
            http, "PATCH", f"/repos/{repository}/issues/comments/{existing['id']}", json={"body": body}
        )
        data = response.json()
        return CommentResult("updated", int(data["id"]), str(data.get("html_url", "")))
    response = _send(http, "POST", f"/repos/{repository}/issues/{number}/comments", json={"body": body})
    data = response.json()
    return CommentResult("created", int(data["id"]), str(data.get("html_url", "")))


def _send(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = http.request(method, url, **kwargs)
    except httpx.HTTPError as e:
        raise CommentError(redact(f"GitHub API {method} {_path(url)} failed: {type(e).__name__}")) from None
    if response.is_success:
        return response
    detail = ""
    try:
        payload = response.json()
        if isinstance(payload, dict):
            detail = str(payload.get("message", ""))
    except ValueError:
        pass
    hint = None
    if response.status_code in (401, 403, 404):
        hint = (
            "the token needs `pull-requests: write` (workflow `permissions:`); pull requests from "
            "forks get a read-only token"
        )
    message = f"GitHub API {method} {_path(url)} answered {response.status_code}"
    if detail:
        message += f": {detail[:300]}"
    # The token is in no URL or message we build, but a server may echo headers back.
    token = http.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token:
        message = message.replace(token, "***")
    raise CommentError(redact(message), hint=hint)


def _path(url: str) -> str:
    return httpx.URL(url).path
