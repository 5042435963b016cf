"""Webhook notifications for `reconcile watch`: drift found, a rollout paused, failed or rolled
back, devices blocked. Each webhook's URL comes from the environment only: it authorizes
posting, so it is a secret, and no message here ever names it (only its variable)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.errors import remember_secret
from reconciler.model.project import Webhook

TIMEOUT = 10.0
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True)
class Event:
    kind: str  # one of model.project.NOTIFY_EVENTS
    text: str  # one line for people
    target: str = ""
    commit: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "text": self.text,
            "target": self.target,
            "commit": self.commit,
            **self.details,
        }


def slack_text(text: str) -> str:
    """Slack reads `<...>` as links and mentions (`<!channel>`): platform names are escaped
    so none can ping a channel or hide a link."""
    return text.translate(_SLACK)


def body(hook: Webhook, event: Event) -> dict[str, Any]:
    if hook.format == "raw":
        return event.to_dict()
    commit = f" at {event.commit[:12]}" if event.commit else ""
    return {
        "text": slack_text(
            f"reconcile {event.kind.replace('_', ' ')} on {event.target}{commit}: {event.text}"
        )
    }


async def send(
    hooks: Sequence[Webhook],
    events: Sequence[Event],
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[str]:
    """Post each event to each webhook that wants it. Returns the problems (never raised: a
    webhook that is down must not stop the fleet from converging), each naming the variable,
    never the URL."""
    env = os.environ if env is None else env
    problems: list[str] = []
    wanted = [(h, e) for h in hooks for e in events if e.kind in h.events]
    if not wanted:
        return problems
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport, follow_redirects=False) as http:
        for hook, event in wanted:
            url = env.get(hook.url_env, "")
            if not url:
                problems.append(f"notify: ${hook.url_env} is not set; {event.kind} not sent")
                continue
            remember_secret(url)
            if not url.startswith(("https://", "http://")):
                problems.append(f"notify: ${hook.url_env} is not an http(s) URL; {event.kind} not sent")
                continue
            try:
                answer = await http.post(url, content=json.dumps(body(hook, event)), headers=_HEADERS)
            except httpx.HTTPError as e:
                problems.append(f"notify: the webhook in ${hook.url_env} failed ({type(e).__name__})")
                continue
            if answer.status_code >= 300:
                problems.append(f"notify: the webhook in ${hook.url_env} answered HTTP {answer.status_code}")
    return problems


_HEADERS = {"Content-Type": "application/json"}
