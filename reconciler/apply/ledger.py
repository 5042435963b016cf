"""The final ledger: one line per device the plan asked to change, with what happened.

Devices the plan blocked are listed too (action `blocked`, state `not_attempted`): the
exit code counts those a person must act on (bad content, unknown release, drift to
review, ...), not those that cannot take any deployment (archived, never enrolled).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.escape import LINE_LIMIT, terminal
from reconciler.model.enums import BlockReason, DeviceOutcome

# `in_flight` appears only in a saved record of a rollout that is still running (or crashed).
LedgerState = DeviceOutcome
STATES = tuple(s for s in DeviceOutcome if s is not DeviceOutcome.IN_FLIGHT)
OK_STATES = frozenset({DeviceOutcome.SUCCEEDED, DeviceOutcome.DEFERRED})
# `reason_code`s of not-attempted devices that do not make apply fail: a rollout paused
# after a healthy canary wave (as its spec asked), and devices with no agent to deploy to
# (the plan's block codes in `reconciler.plan.desired`).
AWAITING_PROMOTION = "awaiting-promotion"
# Content that failed and was rolled back is not rolled out again by a later apply: the plan and
# the ledger say so, and the run that merely remembers it does not fail for it.
HELD_BACK = "held-back"
# A maintenance window is closed: the rollout waits for the next apply inside one.
WAITING_FOR_WINDOW = "waiting-for-window"
# A person paused or aborted the rollout (`apply --pause` / `--abort --keep`): left alone on purpose.
PAUSED, ABORTED = "paused", "aborted"
NOT_A_FAILURE = frozenset(
    {
        AWAITING_PROMOTION,
        HELD_BACK,
        WAITING_FOR_WINDOW,
        PAUSED,
        ABORTED,
        *(str(r) for r in BlockReason if not r.fails_run),
    }
)


@dataclass(frozen=True)
class LedgerEntry:
    device: str
    deployment_set: str
    action: str
    state: LedgerState
    wave: int | None = None
    deployment_id: str | None = None  # the deployment this rollout created for the device
    rollback_deployment_id: str | None = None
    reason: str = ""
    reason_code: str | None = None  # why not attempted: a plan block code, or awaiting-promotion

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LedgerEntry:
        return cls(
            device=d["device"],
            deployment_set=d["deployment_set"],
            action=d["action"],
            state=DeviceOutcome(d["state"]),
            wave=d.get("wave"),
            deployment_id=d.get("deployment_id"),
            rollback_deployment_id=d.get("rollback_deployment_id"),
            reason=str(d.get("reason") or ""),
            reason_code=d.get("reason_code"),
        )


def counts(entries: Iterable[LedgerEntry]) -> dict[str, int]:
    c = Counter(e.state for e in entries)
    return {s: c.get(s, 0) for s in STATES}


def exit_code(entries: Iterable[LedgerEntry]) -> int:
    """0 when every device succeeded or was deferred, 1 otherwise. Not failures: devices
    waiting behind a healthy canary pause (the pause is what the spec asked for) and
    devices the plan blocked because they have no agent (archived, never enrolled)."""
    for e in entries:
        if e.state in OK_STATES or (e.state == "not_attempted" and e.reason_code in NOT_A_FAILURE):
            continue
        return 1
    return 0


def render_text(entries: list[LedgerEntry]) -> str:
    if not entries:
        return "No device changes."
    # Names and reasons come from the platform and the manifests: escaped for a terminal.
    width = max(len(terminal(e.device)) for e in entries)
    set_width = max(len(terminal(e.deployment_set)) for e in entries)
    lines = []
    for e in sorted(entries, key=lambda x: (x.action == "blocked", x.deployment_set, x.wave or 0, x.device)):
        wave = f"wave {e.wave:<3}" if e.wave else "blocked " if e.action == "blocked" else "        "
        detail = f"  {terminal(e.reason, LINE_LIMIT)}" if e.reason else ""
        device, dset = terminal(e.device), terminal(e.deployment_set)
        line = f"  {device:<{width}}  {e.state:<13} {dset:<{set_width}}  {wave}{detail}"
        lines.append(line.rstrip())
    summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts(entries).items() if n)
    return "Ledger:\n" + "\n".join(lines) + f"\n{summary}"


def left_alone(name: str, changes: Iterable[Any], reason: str, code: str) -> list[LedgerEntry]:
    """The ledger of a set's planned changes that this run does not attempt (held back, paused,
    aborted): each device not attempted, with why."""
    return [
        LedgerEntry(
            device=c.device,
            deployment_set=name,
            action=c.action,
            state=DeviceOutcome.NOT_ATTEMPTED,
            reason=reason,
            reason_code=code,
        )
        for c in changes
    ]
