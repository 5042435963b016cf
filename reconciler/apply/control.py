"""`reconcile apply --pause SET` and `--abort SET --keep`: a person stops a DeploymentSet's
rollout, with the decision kept on the platform as a control record (`model/control.py`), so
every clone and every run in flight sees it.

- A run in flight looks again before it starts more devices (at most once per poll): a pause or
  an abort stops it there; devices already updating finish their health check, and the run
  ends `paused` or `aborted` (exit 0).
- Later applies leave the set alone (its devices `not_attempted`, reason `paused` or `aborted`)
  until `apply --promote --set SET` (a pause) or `--retry-failed`/`--force` (an abort) writes a
  `resume` record, or the content changes (another rollout id, with no records).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.apply.ledger import ABORTED, PAUSED, LedgerEntry, left_alone
from reconciler.errors import ReconcileError
from reconciler.gitsource import open_repo
from reconciler.model import control as C
from reconciler.model.enums import ControlKind, DeviceOutcome, RolloutState, SetRolloutState
from reconciler.model.plan import DeviceChange, Plan
from reconciler.model.rollout import RolloutPlan
from reconciler.plan.rollout_state import resume_command, state_of
from reconciler.platform import controls
from reconciler.platform.client import Platform

if TYPE_CHECKING:  # the rollout engine asks this module between steps
    from reconciler.apply.rollout import SetRollout

# What the platform takes as a git commit's origin (a github.com, gitlab.com or bitbucket.org URL).
_ORIGIN = re.compile(
    r"^(?:https?://|ssh://git@|git@)(github\.com|gitlab\.com|bitbucket\.org)[/:][^/]+/[^/]+?(?:\.git)?/?$"
)
PLACEHOLDER_ORIGIN = "https://github.com/miru-reconcile/control-records"


def origin(root: Path) -> str:
    """The repository the records are filed under: the checkout's `origin` remote, else the
    GitHub repository of the workflow, else a fixed placeholder (the record is no real commit;
    its sha is derived from the rollout)."""
    found = open_repo(root)
    if found is not None:
        try:
            url = str(found[0].remotes.origin.url)
        except (AttributeError, ValueError):
            url = ""
        if _ORIGIN.match(url):
            return url
    server, repo = os.environ.get("GITHUB_SERVER_URL", ""), os.environ.get("GITHUB_REPOSITORY", "")
    candidate = f"{server.rstrip('/')}/{repo}"
    return candidate if repo and _ORIGIN.match(candidate) else PLACEHOLDER_ORIGIN


def actor() -> str:
    """Who asked: the workflow's actor in GitHub Actions, else the login name."""
    for name in ("GITHUB_ACTOR", "USER", "LOGNAME", "USERNAME"):
        if os.environ.get(name, "").strip():
            return C.who(os.environ[name])
    return "unknown"


def reason_code(control: C.Control) -> str:
    return PAUSED if control.kind is ControlKind.PAUSE else ABORTED


def reason(control: C.Control) -> str:
    """What a device left alone because of `control` says in the ledger."""
    if control.kind is ControlKind.PAUSE:
        return f"{control.words()}; {resume_command(control.deployment_set)} continues it"
    if control.kind is ControlKind.ABORT_REVERT:
        return f"{control.words()}; apply with --retry-failed to roll it out again"
    return f"{control.words()}; apply with --retry-failed or --force to continue it"


def _rollout(plan: Plan, name: str) -> RolloutPlan:
    rollout = plan.rollouts.get(name)
    if rollout is None:
        known = ", ".join(sorted(plan.rollouts)) or "none"
        raise ReconcileError(f"no DeploymentSet {name!r} in the plan (DeploymentSets: {known})")
    return rollout


def target(plan: Plan, name: str, kind: ControlKind) -> RolloutPlan | None:
    """The rollout `kind` applies to; None when it is already in force (nothing to write).
    Refused when the set has no rollout in progress."""
    rollout = _rollout(plan, name)
    state = state_of(rollout)
    if rollout.control is not None and rollout.control.kind is kind:
        return None
    if state is SetRolloutState.ABORTED:
        raise ReconcileError(
            f"DeploymentSet {name!r}: rollout {rollout.id} was {rollout.control.words() if rollout.control else 'aborted'}; nothing to {kind.value.split('-')[0]}"
        )
    if state not in (SetRolloutState.IN_PROGRESS, SetRolloutState.PAUSED):
        raise ReconcileError(
            f"DeploymentSet {name!r} has no rollout in progress (its rollout {rollout.id} is {state.value}); "
            f"nothing to {kind.value.split('-')[0]}",
            hint="`reconcile status` shows where each set's rollout stands",
        )
    return rollout


async def record(platform: Platform, root: Path, name: str, rollout: str, kind: ControlKind) -> C.Control:
    wanted = C.Control(kind, name, rollout, seq=0, run=secrets.token_hex(4), by=actor())
    return await controls.write(platform, wanted, origin=origin(root))


async def clear(
    plan: Plan,
    platform: Platform,
    root: Path,
    *,
    fresh: bool,
    resume_paused: bool,
    retry_failed: bool,
    force: bool,
) -> tuple[Plan, list[str]]:
    """The plan with each rollout's control record as the platform holds it now (read again
    unless the plan was `fresh`ly made), and those the flags clear written `resume`:
    a pause with `resume_paused` (`--promote --set`), an abort with `--retry-failed` (or
    `--force`, for one that kept its devices)."""
    if not fresh:
        plan = await controls.with_controls(plan, platform)
    notes: list[str] = []
    rollouts = dict(plan.rollouts)
    for name, r in sorted(plan.rollouts.items()):
        c = r.control
        if c is None or not r.devices:
            continue
        clears = (
            resume_paused
            if c.kind is ControlKind.PAUSE
            else retry_failed or (force and c.kind is ControlKind.ABORT_KEEP)
        )
        if clears:
            await record(platform, root, name, r.id, ControlKind.RESUME)
            rollouts[name] = replace(r, control=None)
            notes.append(f"{name}: rollout {r.id} was {c.words()}; resumed")
    return replace(plan, rollouts=rollouts), notes


def halted_ledger(name: str, changes: list[DeviceChange], control: C.Control) -> list[LedgerEntry]:
    return left_alone(name, changes, reason(control), reason_code(control))


async def check(rollout: SetRollout) -> C.Control | None:
    """Between steps of a running rollout: a pause or abort recorded since it started. Read at
    most once per poll interval; the first step is covered by the read that made the plan."""
    now, last = rollout.clock.now(), rollout.control_read_at
    if last is not None and now - last < rollout.clock.poll_interval:
        return None
    rollout.control_read_at = now
    if last is None:
        return None
    found = await controls.in_force(rollout.platform, [rollout.record.id])
    return found.get(rollout.record.id)


async def halt(rollout: SetRollout, control: C.Control) -> None:
    """Stop starting devices; those updating finish their health check; the record says why."""
    why = reason(control)
    rollout.reporter.note(rollout.name, f"{why}; starting no more devices")
    for d in rollout.devs.values():
        if d.state == DeviceOutcome.NOT_ATTEMPTED:
            d.reason, d.reason_code = why, reason_code(control)
    await rollout._drain()
    state = RolloutState.PAUSED if control.kind is ControlKind.PAUSE else RolloutState.ABORTED
    if control.kind is ControlKind.ABORT_REVERT:
        why += (
            f"; devices this run finished after it still run the rollout: "
            f"`reconcile apply --abort {control.deployment_set} --revert` takes them back"
        )
    rollout._save(state=state, message=why)
