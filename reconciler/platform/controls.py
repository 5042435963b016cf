"""Control records on the platform (see `reconciler.model.control`): read every record of some
rollouts in one filtered list of git commits, and write one more.

A write is sent once. The platform's docs leave open whether two git commits may share a
`sha`; either way works: a writer takes the first free sequence number after those it read,
and when the create fails (a conflict, a lost answer) it reads again and either finds its own
record (it landed) or takes the next number.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.errors import PermissionDenied, PlatformError, ReconcileError
from reconciler.model import control as C
from reconciler.model.plan import Plan
from reconciler.platform.client import Platform
from reconciler.platform.convert import text
from reconciler.platform.paging import raw, read_where

ATTEMPTS = 4
WHAT = "read control records (git commits)"


async def read(platform: Platform, rollouts: Sequence[str]) -> dict[str, list[C.Control]]:
    """rollout id -> its control records (any order). Rollouts with all `SLOTS` sequence numbers
    taken are read on, `SLOTS` more at a time."""
    out: dict[str, list[C.Control]] = {r: [] for r in rollouts}
    todo, base = sorted(set(rollouts)), 0
    while todo:
        shas = {C.sha(r, base + i): r for r in todo for i in range(C.SLOTS)}
        rows = await read_where(platform, raw(platform.sdk.git_commits), "sha", list(shas), what=WHAT)
        seen: dict[str, set[int]] = {}
        for row in rows:
            rid = shas.get(text(row, "sha"))
            found = C.parse(text(row, "message"), text(row, "sha"), text(row, "created_at"))
            if rid is None or found is None or found.rollout != rid:
                continue
            out[rid].append(found)
            seen.setdefault(rid, set()).add(found.seq)
        todo = [r for r in todo if len(seen.get(r, ())) == C.SLOTS]
        base += C.SLOTS
    return out


async def in_force(platform: Platform, rollouts: Sequence[str]) -> dict[str, C.Control]:
    """rollout id -> the control record in force (absent when none is)."""
    found = await read(platform, rollouts)
    return {r: c for r, records in found.items() if (c := C.in_force(records)) is not None}


async def write(platform: Platform, record: C.Control, *, origin: str) -> C.Control:
    """Record `record` (its `seq` is chosen here) and return it as the platform holds it."""
    floor = 0  # a sequence number the platform refused as taken is not tried again
    for _ in range(ATTEMPTS):
        records = (await read(platform, [record.rollout]))[record.rollout]
        mine = _mine(records, record)
        if mine is not None:  # an earlier attempt landed
            return mine
        record = replace(record, seq=max(C.next_seq(records), floor))
        try:
            row = await platform.write(
                functools.partial(
                    platform.sdk.git_commits.create,
                    sha=C.sha(record.rollout, record.seq),
                    message=record.text(),
                    origin=origin,
                ),
                what="record the control record (create a git commit)",
            )
        except PlatformError as e:
            if e.status in (401, 403):
                raise PermissionDenied(
                    "create a git commit (a control record)", "git_commits:write", e.status, e.message
                ) from None
            if e.status is not None and 400 <= e.status < 500 and e.status not in (408, 409, 429):
                raise ReconcileError(f"the platform refused the control record: {e.message}") from None
            if e.status == 409:  # the sha is taken (by another writer, or by a commit not ours)
                floor = record.seq + 1
            continue  # or the answer was lost: read again
        return replace(record, at=C.utc(text(row, "created_at")))
    raise ReconcileError(
        f"could not record the control record of rollout {record.rollout} after {ATTEMPTS} attempts"
    )


def _mine(records: Sequence[C.Control], record: C.Control) -> C.Control | None:
    """This run's record among `records`: the same kind from the same run."""
    return next((c for c in records if (c.kind, c.run) == (record.kind, record.run)), None)


async def with_controls(
    plan: Plan, platform: Platform, read_before: Mapping[str, Sequence[C.Control]] | None = None
) -> Plan:
    """`plan` with each rollout's control record in force. Only rollouts with devices left to
    update are asked about (one request for up to a dozen of them): a finished or unchanged set
    has nothing to pause. `read_before`: records read while the plan was being made (by rollout
    id); a rollout not among them is read now."""
    asked = {name: r.id for name, r in plan.rollouts.items() if r.devices and r.id}
    known = dict(read_before or {})
    missing = [rid for rid in asked.values() if rid not in known]
    if missing:
        known.update(await read(platform, missing))
    found = {rid: c for rid in asked.values() if (c := C.in_force(known.get(rid, ()))) is not None}
    rollouts = {
        name: replace(r, control=found.get(r.id)) if name in asked else r for name, r in plan.rollouts.items()
    }
    return replace(plan, rollouts=rollouts)
