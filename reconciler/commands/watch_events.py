"""The events a watch round posts to the webhooks: drift found, devices blocked, a rollout paused,
failed or rolled back; and the key that sends an event once while it lasts."""

from __future__ import annotations

from typing import Any

from reconciler.commands.watch_round import Mode, Round
from reconciler.escape import json_text
from reconciler.model.enums import RolloutState
from reconciler.platform import notify

SHOWN = 20  # devices named in one event


def events(r: Round, mode: Mode, target: str) -> list[notify.Event]:
    found = [*_drift(r), *(_blocked(r) if mode != "drift-only" else []), *_rollouts(r)]
    return [notify.Event(kind, text, target=target, commit=r.commit, details=d) for kind, text, d in found]


Found = list[tuple[str, str, dict[str, Any]]]  # (kind, text, details) of each event


def _drift(r: Round) -> Found:
    drifted = r.drifted
    if not drifted:
        return []
    names = sorted({i.device for i in drifted})
    healed = " (healing)" if r.applied is not None else ""
    items = [{"device": i.device, "kind": i.kind, "detail": i.detail} for i in drifted[:SHOWN]]
    text = f"{len(names)} device(s) differ from the manifests{healed}: {names_of(names)}"
    return [("drift", text, {"devices": len(names), "items": items})]


def _blocked(r: Round) -> Found:
    blocked = sorted(c.device for c in r.plan.changes if c.action == "blocked") if r.plan else []
    if not blocked:
        return []
    return [
        ("blocked", f"{len(blocked)} device(s) blocked: {names_of(blocked)}", {"devices": blocked[:SHOWN]})
    ]


def _rollouts(r: Round) -> Found:
    out: Found = []
    for rec in r.applied.records if r.applied is not None else ():
        state = rec.status.state
        rolled = [e.device for e in rec.devices if e.state == "rolled_back"]
        kind = None
        if rolled:
            kind = "rolled_back"
        elif state == RolloutState.FAILED:
            kind = "rollout_failed"
        elif state == RolloutState.PAUSED:
            kind = "rollout_paused"
        if kind is not None:
            details = {"set": rec.deployment_set, "rollout": rec.id, "devices": rolled[:SHOWN]}
            out.append((kind, f"{rec.deployment_set}: {rec.status.message}", details))
    return out


def names_of(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def event_key(e: notify.Event) -> str:
    return json_text({"kind": e.kind, **e.details}, indent=None)
