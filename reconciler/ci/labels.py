"""`--allow-large N` from a pull-request label, for the action's apply.

`limits.max_devices_per_apply` makes an apply that changes more devices refuse unless
`--allow-large N` is given. The plan in the pull request shows the count; a reviewer who accepts
it adds the label `reconcile:allow-large=N`, and the apply of that merge passes `--allow-large N`.
Only the apply path reads labels, and only the pull request that produced the commit being
applied: the event's own `pull_request` (a `pull_request: closed` workflow), or on `push` the
merged pull request whose merge commit is `GITHUB_SHA` (`GET /repos/{repo}/commits/{sha}/pulls`).
A label that cannot be read is no label: the apply then refuses as it would without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from reconciler.ci import comment as gh_comment
from reconciler.ci.runner import RunnerEnv
from reconciler.errors import ReconcileError

PREFIX = "reconcile:allow-large"
MAXIMUM = 1_000_000
_LABEL = re.compile(rf"{re.escape(PREFIX)}=([1-9][0-9]{{0,6}})")


def allow_large(names: Iterable[str]) -> int | None:
    """N from the labels; None without one. A label that starts like ours but is not exactly
    `reconcile:allow-large=N` (1 <= N <= 1,000,000), or two that disagree, is an error: a
    reviewer meant something, and guessing what would be worse than stopping."""
    found: set[int] = set()
    for name in names:
        if not name.strip().lower().startswith(PREFIX):
            continue
        m = _LABEL.fullmatch(name.strip())
        if m is None or int(m.group(1)) > MAXIMUM:
            raise ReconcileError(
                f"pull-request label {name[:80]!r} is not {PREFIX}=N with N a whole number from 1 to {MAXIMUM:,}",
                hint=f"label the pull request e.g. {PREFIX}=120 (the device count its plan shows)",
            )
        found.add(int(m.group(1)))
    if len(found) > 1:
        raise ReconcileError(
            f"the pull request has {len(found)} {PREFIX} labels ({', '.join(map(str, sorted(found)))}); keep one"
        )
    return found.pop() if found else None


def _names(labels: Any) -> list[str]:
    if not isinstance(labels, list):
        return []
    return [str(x["name"]) for x in labels if isinstance(x, Mapping) and isinstance(x.get("name"), str)]


def pull_request_labels(env: RunnerEnv, token: str) -> tuple[list[str], str]:
    """The labels of the pull request that produced this commit, and which one it is ('' when
    there is none to ask about)."""
    event = env.event or {}
    pr = event.get("pull_request")
    if isinstance(pr, Mapping):
        return _names(pr.get("labels")), f"#{pr.get('number')}"
    if env.event_name != "push" or not (token and env.repository and env.sha):
        return [], ""
    with gh_comment.client(env.api_url, token) as http:
        response = http.get(f"/repos/{env.repository}/commits/{env.sha}/pulls", params={"per_page": 100})
    if response.status_code != 200:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )
    pulls = response.json()
    for p in pulls if isinstance(pulls, list) else []:
        if isinstance(p, Mapping) and p.get("merge_commit_sha") == env.sha and p.get("merged_at"):
            return _names(p.get("labels")), f"#{p.get('number')}"
    return [], ""
