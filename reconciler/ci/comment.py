"""One pull-request comment per project path, updated in place.

The comment starts with a hidden marker (`<!-- reconcile:plan path=examples -->`). Upsert
lists the PR's issue comments (every page: busy PRs have more than 100), PATCHes the first
one that starts with the marker, and POSTs a new one only when there is none. The body (its
marker, cut to GitHub's limit) is made in `comment_body`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from reconciler.ci.comment_body import COMMENT_LIMIT, utf16_len
from reconciler.errors import ReconcileError, redact

PER_PAGE = 100
API_VERSION = "2022-11-28"


class CommentError(ReconcileError):
    """GitHub refused or could not be reached. Never carries the token."""


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated", "unchanged"]
    id: int
    url: str


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
