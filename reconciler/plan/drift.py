"""Drift: where live state differs from what the manifests declare, for devices the
manifests cover. Built from the plan (which already compares desired with live) plus the
live deployments the plan leaves alone: drifted, failing, and staged ones nobody asked for.
Pure; `reconcile drift` does the reading."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from reconciler.escape import LINE_LIMIT, terminal
from reconciler.model.enums import BlockReason, SetRolloutState
from reconciler.model.live import LiveDeployment, LiveState, parse_time
from reconciler.model.plan import ConfigDiff, DeviceChange, Plan, Unmanaged, diff_to_dict
from reconciler.plan.diff import describe
from reconciler.plan.groups import sample
from reconciler.plan.rollout_state import state_of, state_words
from reconciler.plan.unmanaged import render_unmanaged_text

FORMAT_VERSION = 2  # 2: a diff's path is a list of keys and indices, as in the plan
KINDS = ("config", "release", "staged", "drifted", "failed", "retrying", "missing-device")


@dataclass(frozen=True)
class DriftItem:
    device: str
    device_id: str | None
    deployment_set: str | None
    kind: str  # one of KINDS
    detail: str
    config_diffs: tuple[ConfigDiff, ...] = ()  # live -> manifests
    deployment_id: str | None = None
    # config and release drift: who made the live deployment and when (its description and
    # creation time), as the platform shows them
    description: str | None = None
    since: str | None = None


@dataclass(frozen=True)
class DriftReport:
    items: tuple[DriftItem, ...]
    target: str = ""
    commit: str | None = None
    # Rollouts the platform shows paused or held back: (set, rollout id, state, what to do)
    rollouts: tuple[tuple[str, str, str, str], ...] = ()
    unmanaged: Unmanaged | None = None  # None: a --set/--device run

    @property
    def failing(self) -> bool:
        """Exit 2: drift, or devices nobody manages where reconcile.yaml says unmanaged: error."""
        u = self.unmanaged
        return bool(self.items) or (u is not None and u.policy == "error" and u.found)

    @property
    def devices(self) -> int:
        return len({i.device for i in self.items})

    def to_dict(self) -> dict[str, Any]:
        by_kind = {k: sum(1 for i in self.items if i.kind == k) for k in KINDS}
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "commit": self.commit,
            "summary": {"devices": self.devices, "items": len(self.items), "by_kind": by_kind},
            "items": [
                {**asdict(i), "config_diffs": [diff_to_dict(d) for d in i.config_diffs]} for i in self.items
            ],
            "rollouts": [
                {"deployment_set": name, "rollout": rid, "state": state, "message": message}
                for name, rid, state, message in self.rollouts
            ],
            "unmanaged": self.unmanaged.to_dict() if self.unmanaged is not None else None,
        }


def _version(live: LiveState, dep: LiveDeployment) -> str:
    rel = live.releases.get(dep.release_id)
    return rel.version if rel else dep.release_id


def _item(c: DeviceChange, kind: str, detail: str, **extra: Any) -> DriftItem:
    return DriftItem(
        device=c.device,
        device_id=c.device_id,
        deployment_set=c.deployment_set,
        kind=kind,
        detail=detail,
        **extra,
    )


def find_drift(plan: Plan, live: LiveState, failed: list[LiveDeployment] | None = None) -> DriftReport:
    """`failed`: recently failed (archived) deployments, newest first, to report the devices
    whose last attempt failed since their current target was set."""
    items: list[DriftItem] = []
    for c in plan.changes:
        if c.action == "blocked" and c.reason_code == BlockReason.DEVICE_UNKNOWN:
            items.append(_item(c, "missing-device", c.reason or ""))
            continue
        items += _content_drift(c, live)
        if c.device_id is not None:
            items += _deployment_drift(c, live, c.device_id)
    items += _last_attempts_failed(plan, live, failed or [])
    items.sort(key=lambda i: (i.device, KINDS.index(i.kind), i.deployment_id or ""))
    stuck = (SetRolloutState.PAUSED, SetRolloutState.ABORTED, SetRolloutState.HELD)
    rollouts = tuple(
        (name, r.id, str(state_of(r)), state_words(r))
        for name, r in sorted(plan.rollouts.items())
        if state_of(r) in stuck
    )
    return DriftReport(
        items=tuple(items),
        target=plan.target,
        commit=plan.commit,
        rollouts=rollouts,
        unmanaged=plan.unmanaged,
    )


def _content_drift(c: DeviceChange, live: LiveState) -> list[DriftItem]:
    """The device's release or config content is not what the manifests say."""
    dev = live.devices.get(c.device)
    current = live.target_deployment(dev) if dev else None
    who: dict[str, Any] = (
        {"deployment_id": current.id, "description": current.description, "since": current.created_at}
        if current
        else {}
    )
    if c.action in ("upgrade", "stage", "restage"):
        detail = f"live {c.release_from or '(none)'}, manifests {c.release_to}"
        return [_item(c, "release", detail, config_diffs=c.config_diffs, **who)]
    if c.action == "deploy" or (c.action == "noop" and c.config_diffs):
        # A noop with diffs: `activation: stage` with the manifests' deployment staged and
        # waiting. The live config still differs (a dashboard hotfix among it) and is said.
        detail = "; ".join(describe(d) for d in c.config_diffs) or "config content differs"
        return [_item(c, "config", detail, config_diffs=c.config_diffs, **who)]
    return []


def _deployment_drift(c: DeviceChange, live: LiveState, device_id: str) -> list[DriftItem]:
    """The device's deployments: failing or retrying, staged and drifted, staged and unknown
    to the manifests."""
    items = []
    for dep in live.deployments_of(device_id):
        what = f"{dep.id} ({_version(live, dep)})"
        if dep.error_status in ("failed", "retrying"):
            detail = f"deployment {what} is {dep.error_status}"
            items.append(_item(c, dep.error_status, detail, deployment_id=dep.id))
        if dep.target_status != "staged":
            continue
        if dep.activity_status == "drifted":
            detail = (
                f"staged deployment {what} drifted: the device was patched "
                f"after it was staged ({dep.description!r})"
            )
            items.append(_item(c, "drifted", detail, deployment_id=dep.id))
        elif c.action in ("noop", "deploy", "blocked") and c.release_to_id != dep.release_id:
            detail = f"staged deployment {what} is not in the manifests ({dep.description!r})"
            items.append(_item(c, "staged", detail, deployment_id=dep.id))
    return items


def _last_attempts_failed(plan: Plan, live: LiveState, failed: list[LiveDeployment]) -> list[DriftItem]:
    """Devices whose newest attempt failed (archived) and was not superseded since."""
    by_id = {c.device_id: c for c in plan.changes if c.device_id}
    seen: set[str] = set()
    items = []
    for dep in sorted(failed, key=lambda d: parse_time(d.created_at), reverse=True):
        owner = by_id.get(dep.device_id)
        if owner is None or dep.device_id in seen:
            continue
        seen.add(dep.device_id)
        dev = live.devices.get(owner.device)
        target = live.target_deployment(dev) if dev else None
        # Failed on top of the current target (its parent), or newer than it: not yet superseded.
        if (
            target is None
            or dep.parent_id == target.id
            or parse_time(dep.created_at) > parse_time(target.created_at)
        ):
            kept = target.id if target else "no deployment"
            what = f"{dep.id} ({_version(live, dep)})"
            detail = f"the last deployment {what} failed; the device kept {kept}"
            items.append(_item(owner, "failed", detail, deployment_id=dep.id))
    return items


def render_drift_text(report: DriftReport, *, sample_size: int = 5, verbose: bool = False) -> str:
    # Names and details come from the platform and the manifests: escaped for a terminal.
    unmanaged = render_unmanaged_text(report.unmanaged, verbose=verbose)
    if not report.items:
        return "\n".join(["No drift: the platform matches the manifests.", *unmanaged]) + "\n"
    groups: dict[tuple[str, str], list[str]] = {}
    for i in report.items:
        groups.setdefault((i.kind, i.detail if i.kind in ("config", "release") else ""), []).append(i.device)
    out = []
    for (kind, detail), names in sorted(groups.items(), key=lambda kv: (KINDS.index(kv[0][0]), kv[0][1])):
        if kind in ("config", "release"):
            n = len(names)
            shown_names = sample([terminal(x) for x in names], sample_size)
            out.append(f"{kind}: {n} device{'s' if n != 1 else ''}: {shown_names}")
            out.append(f"    live -> manifests: {terminal(detail, LINE_LIMIT)}")
            shown = [i for i in report.items if i.kind == kind and i.detail == detail][:sample_size]
            for i in shown:  # who made the live state, and when (the description is the platform's: escaped)
                if i.deployment_id:
                    who = terminal(repr(i.description), LINE_LIMIT)
                    out.append(
                        f"    {terminal(i.device)}: live deployment {terminal(i.deployment_id)} ({who}, {terminal(i.since)})"
                    )
            if n > len(shown):
                out.append(f"    ... (+{n - len(shown)} more: --format json lists every device)")
    for i in report.items:
        if i.kind not in ("config", "release"):
            where = f" ({terminal(i.deployment_set)})" if i.deployment_set else ""
            out.append(f"{i.kind}: {terminal(i.device)}{where}: {terminal(i.detail, LINE_LIMIT)}")
    for name, rid, state, message in report.rollouts:
        out.append(f"rollout {state}: {terminal(name)} ({rid}): {terminal(message, LINE_LIMIT)}")
    n = report.devices
    out += [
        "",
        f"Drift: {n} device{'s' if n != 1 else ''} differ{'s' if n == 1 else ''} from the manifests "
        f"({len(report.items)} finding{'s' if len(report.items) != 1 else ''}).",
        *unmanaged,
    ]
    return "\n".join(out) + "\n"
