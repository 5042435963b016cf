"""What one `reconcile watch` round did (drift, the plan, what it applied, its events), as its JSON
log line says it; and the options every round runs with."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reconciler.apply.executor import ApplyResult
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.model.plan import Plan
from reconciler.model.project import Webhook
from reconciler.plan.drift import DriftItem, DriftReport
from reconciler.platform import notify

Mode = Literal["report", "apply", "drift-only"]


@dataclass(frozen=True)
class Options:
    path: Path
    interval: float = 300.0
    ref: str | None = None
    mode: Mode = "report"
    once: bool = False
    base_url: str | None = None


@dataclass
class Round:
    """What one round did, as its JSON log line says it."""

    number: int
    commit: str | None = None
    drift: DriftReport | None = None
    plan: Plan | None = None
    applied: ApplyResult | None = None
    events: list[notify.Event] = field(default_factory=list)
    notify_problems: list[str] = field(default_factory=list)
    error: str | None = None
    stopped: bool = False
    hooks: tuple[Webhook, ...] = ()

    @property
    def pushed(self) -> set[str]:
        """Devices whose change comes from commits new since the last round (not drift)."""
        changes = self.plan.changes if self.plan is not None else ()
        return {c.device for c in changes if c.origin == "change"}

    @property
    def drifted(self) -> list[DriftItem]:
        pushed = self.pushed
        return [i for i in (self.drift.items if self.drift else ()) if i.device not in pushed]

    def exit_code(self, mode: Mode) -> int:
        if self.error is not None:
            return EXIT_ERROR
        if self.applied is not None:
            return self.applied.exit_code
        return EXIT_CHANGES if mode != "apply" and self.drifted else EXIT_OK

    def line(self, mode: Mode, next_in: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "round": self.number,
            "at": _now(),
            "mode": mode,
            "commit": self.commit,
            "drift": None,
            "pushed": 0,
            "plan": None,
            "applied": None,
            "events": [e.kind for e in self.events],
            "notify_problems": self.notify_problems,
            "error": self.error,
            "stopped": self.stopped,
            "next_in": next_in,
        }
        if self.drift is not None:
            items = self.drifted
            out["drift"] = {"devices": len({i.device for i in items}), "items": len(items)}
            out["pushed"] = len(self.pushed)
        if self.plan is not None and mode != "drift-only":
            out["plan"] = self.plan.summary()
        if self.applied is not None:
            out["applied"] = _applied(self.applied)
        return out


def _applied(applied: ApplyResult) -> dict[str, Any]:
    rollouts = [{"set": r.deployment_set, "id": r.id, "state": str(r.status.state)} for r in applied.records]
    return {"exit_code": applied.exit_code, "rollouts": rollouts}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
