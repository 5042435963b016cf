"""The final ledger: one line per device the plan asked to change, with what happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

# `in_flight` appears only in a saved record of a rollout that is still running (or crashed).
LedgerState = Literal["succeeded", "failed", "rolled_back", "deferred", "stale", "not_attempted", "in_flight"]
STATES: tuple[LedgerState, ...] = ("succeeded", "failed", "rolled_back", "deferred", "stale", "not_attempted")
OK_STATES = frozenset({"succeeded", "deferred"})


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LedgerEntry:
        return cls(device=d["device"], deployment_set=d["deployment_set"], action=d["action"],
                   state=d["state"], wave=d.get("wave"), deployment_id=d.get("deployment_id"),
                   rollback_deployment_id=d.get("rollback_deployment_id"), reason=str(d.get("reason") or ""))


def counts(entries: Iterable[LedgerEntry]) -> dict[str, int]:
    c = Counter(e.state for e in entries)
    return {s: c.get(s, 0) for s in STATES}


def exit_code(entries: Iterable[LedgerEntry], *, paused: bool = False) -> int:
    """0 when every device succeeded or was deferred, 1 otherwise. Devices waiting behind a
    healthy canary pause are not failures: the pause is the requested behaviour."""
    for e in entries:
        if e.state in OK_STATES:
            continue
        if paused and e.state == "not_attempted" and e.reason.startswith("waiting for promotion"):
            continue
        return 1
    return 0


def render_text(entries: list[LedgerEntry]) -> str:
    if not entries:
        return "No device changes."
    width = max(len(e.device) for e in entries)
    set_width = max(len(e.deployment_set) for e in entries)
    lines = []
    for e in sorted(entries, key=lambda x: (x.deployment_set, x.wave or 0, x.device)):
        wave = f"wave {e.wave:<3}" if e.wave else "        "
        detail = f"  {e.reason}" if e.reason else ""
        line = f"  {e.device:<{width}}  {e.state:<13} {e.deployment_set:<{set_width}}  {wave}{detail}"
        lines.append(line.rstrip())
    summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts(entries).items() if n)
    return "Ledger:\n" + "\n".join(lines) + f"\n{summary}"
