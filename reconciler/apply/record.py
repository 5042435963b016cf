"""The rollout record, shaped like the platform's rollout object (id, type, from/to, spec, status),
one per DeploymentSet per plan, saved atomically as JSON under
`<project root>/.reconcile/rollouts/<id>.json` (`schemas/rollout.schema.json`).

The record also carries the per-device ledger, which is what lets a rerun after a crash
(or `reconcile apply --promote`) resume the same rollout instead of starting another.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.apply import journal, jsonpieces
from reconciler.apply.ledger import LedgerEntry
from reconciler.errors import Location, ReconcileError
from reconciler.files import atomic_write
from reconciler.model.enums import RolloutState
from reconciler.model.plan import Plan
from reconciler.model.rollout import RolloutSpec

RECORD_FORMAT = 2  # 2: spec as RolloutSpec.to_dict (durations in seconds, strategy options flat)
State = RolloutState
FINAL_STATES = frozenset(s for s in RolloutState if s.final)
# A finished rollout of at most this many devices is folded into its record at once (a few
# ms); a larger one by a thread, so the event loop (other sets' rollouts) is not held.
FOLD_AT_ONCE = 1_000
_lock = threading.Lock()  # the journals are appended from the event loop and folded from threads


def utc_now() -> str:
    # Microseconds: `status` orders rollouts by created_at, and two applies can start within
    # the same second (a crashed one and the plan that supersedes it).
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RolloutStatus:
    state: State = RolloutState.PENDING
    current_wave: int = 0
    total_waves: int = 0
    canary_nodes: tuple[str, ...] = ()
    canary_promoted: bool = False
    updated_nodes: int = 0
    failed_nodes: int = 0
    total_nodes: int = 0
    revision: int = 0
    message: str = ""
    rolling_back: bool = False  # set while a rollback is under way, so a rerun finishes it
    created_at: str = ""
    updated_at: str = ""
    last_progress_time: str | None = None
    completed_at: str | None = None


@dataclass(frozen=True)
class RolloutRecord:
    id: str
    deployment_set: str
    spec: RolloutSpec
    status: RolloutStatus
    type: str = "update"  # the rollout object's DeploymentType; a rollback is recorded inside the rollout
    commit: str | None = None
    target: str = ""
    plan_digest: str = ""
    plan_file: str = ""  # relative to the project root
    from_version: str = ""  # release version(s) before
    to_version: str = ""
    devices: tuple[LedgerEntry, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": RECORD_FORMAT,
            "id": self.id,
            "type": self.type,
            "deployment_set": self.deployment_set,
            "commit": self.commit,
            "target": self.target,
            "plan_digest": self.plan_digest,
            "plan_file": self.plan_file,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "spec": self.spec.to_dict(),
            "status": {**self.status.__dict__, "canary_nodes": list(self.status.canary_nodes)},
            "devices": [journal.entry_dict(e) for e in self.devices],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutRecord:
        spec = RolloutSpec.from_dict(d["spec"])
        st = dict(d["status"])
        st["canary_nodes"] = tuple(st.get("canary_nodes", ()))
        st["state"] = RolloutState(st.get("state", RolloutState.PENDING))
        return cls(
            id=d["id"],
            type=d.get("type", "update"),
            deployment_set=d["deployment_set"],
            spec=spec,
            status=RolloutStatus(**st),
            commit=d.get("commit"),
            target=d.get("target", ""),
            plan_digest=d.get("plan_digest", ""),
            plan_file=d.get("plan_file", ""),
            from_version=d.get("from_version", ""),
            to_version=d.get("to_version", ""),
            devices=tuple(LedgerEntry.from_dict(e) for e in d.get("devices", [])),
        )

    def with_status(self, **changes: Any) -> RolloutRecord:
        """A new revision: every saved change bumps `revision` and `updated_at`."""
        now = utc_now()
        status = replace(self.status, **changes, revision=self.status.revision + 1, updated_at=now)
        return replace(self, status=status)


def plan_digest(plan: Plan, data: dict[str, Any] | None = None) -> str:
    """A stable hash of the plan: a rerun of the same saved plan derives the same rollout ids.
    `data`: `plan.to_dict()` when the caller has it (at 100,000 devices it costs seconds)."""
    data = plan.to_dict() if data is None else data
    digest = hashlib.sha256()
    for piece in jsonpieces.compact(data):  # on a thread while the event loop runs
        digest.update(piece.encode())
    return digest.hexdigest()


def rollout_id(digest: str, deployment_set: str) -> str:
    return "ro-" + hashlib.sha256(f"{digest}\0{deployment_set}".encode()).hexdigest()[:12]


def rollouts_dir(root: Path) -> Path:
    return root / ".reconcile" / "rollouts"


def save(root: Path, record: RolloutRecord) -> None:
    """Write the whole record (and forget its journal, which it now contains)."""
    path = rollouts_dir(root) / f"{record.id}.json"
    with _lock:
        _write_whole(path, record)
        journal.forget(path)
        journal.start(path, record)


def _write_whole(path: Path, record: RolloutRecord) -> None:
    # On a thread for a big record, while the event loop runs: in pieces (`jsonpieces`).
    data = record.to_dict()
    atomic_write(path, jsonpieces.pretty(data))
    jsonpieces.free(data["devices"])


def with_entries(root: Path, record: RolloutRecord) -> RolloutRecord:
    """`record` with every device's entry as last saved through `append` (once, when a run
    ends: saving mid-run never gathers them)."""
    path = rollouts_dir(root) / f"{record.id}.json"
    with _lock:
        saved = journal.entries(path)
    return record if saved is None else replace(record, devices=saved)


def append(
    root: Path,
    record: RolloutRecord,
    changed: Iterable[LedgerEntry],
    devices: Collection[str],
    *,
    entries: bool = True,
) -> RolloutRecord:
    """Save a state change by appending it (the new status and the device entries that
    changed) to the record's journal, not by rewriting the whole record: a rollout's
    bookkeeping stays linear in its devices. `record.devices` is ignored; the returned record
    carries an entry for each of `devices` (entries of others, from an earlier plan of the same
    rollout, are dropped), or with `entries=False` (a save mid-rollout) `record.devices` as
    given until the rollout is final: gathering every entry costs the fleet. A finished rollout's journal is folded into the record by a
    background thread (the event loop is never held by a whole-record write)."""
    path = rollouts_dir(root) / f"{record.id}.json"
    with _lock:
        if not path.exists():
            whole = replace(record, devices=tuple(journal.merged(record, changed, devices)))
            _write_whole(path, whole)
            journal.forget(path)
            journal.start(path, whole)
            return whole
        journal.append(path, record, changed, devices)
        final = record.status.state in FINAL_STATES
        whole = replace(record, devices=journal.entries(path) or ()) if entries or final else record
    if final:
        _compact(path, whole)
    return whole


def _compact(path: Path, whole: RolloutRecord) -> None:
    def compact() -> None:
        # The record's JSON form is a few new objects per device with no cycles; the collection
        # count is the process's, so a pass started by them ran on the event loop's thread and
        # walked them all (74 ms at 50,000 devices). None runs while it is built.
        enabled = gc.isenabled()
        gc.disable()
        try:
            _write_whole(path, whole)
        finally:
            if enabled:
                gc.enable()
        with _lock:
            journal.folded(path, whole.status.revision)

    if len(whole.devices) <= FOLD_AT_ONCE:
        compact()
        return
    # Not a daemon: the interpreter waits for it at exit, so the record is complete on disk.
    threading.Thread(target=compact, name=f"compact {whole.id}").start()


def load(root: Path, rid: str) -> RolloutRecord | None:
    path = rollouts_dir(root) / f"{rid}.json"
    if not path.exists():
        return None
    return _read(path)


def _read(path: Path) -> RolloutRecord:
    hint = "delete the file if it is not needed"
    try:
        base = RolloutRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        return journal.replay(path, base)
    except json.JSONDecodeError as e:
        raise ReconcileError(
            f"not a readable rollout record: {e.msg}",
            location=Location(str(path), e.lineno, e.colno),
            hint=hint,
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        what = f"missing {e}" if isinstance(e, KeyError) else str(e)
        raise ReconcileError(
            f"not a readable rollout record: {what}", location=Location(str(path)), hint=hint
        ) from None


def read_records(root: Path) -> tuple[list[RolloutRecord], list[ReconcileError]]:
    """Every readable record, newest first, and why the others could not be read (so one
    damaged file does not hide the rest)."""
    d = rollouts_dir(root)
    if not d.is_dir():
        return [], []
    records, errors = [], []
    for p in d.glob("ro-*.json"):
        try:
            records.append(_read(p))
        except ReconcileError as e:
            errors.append(e)
    return sorted(records, key=lambda r: (r.status.created_at, r.id), reverse=True), errors


def list_records(root: Path) -> list[RolloutRecord]:
    """Every record, newest first; an unreadable one is an error."""
    records, errors = read_records(root)
    if errors:
        raise errors[0]
    return records


def supersede(root: Path, newer: RolloutRecord) -> list[RolloutRecord]:
    """Cancel the unfinished rollouts of the same DeploymentSet and target that `newer`
    replaces. A rollout that crashed and was never rerun from its saved plan (or one paused
    for `--promote`) would otherwise show as in progress forever; the newer plan was made
    from what the platform holds now, so it takes over, and the old plan must not be
    resumed or promoted any more."""
    canceled = []
    for old in read_records(root)[0]:  # an unreadable record is not this set's business here
        if (
            old.id == newer.id
            or old.deployment_set != newer.deployment_set
            or old.target != newer.target
            or old.status.state in FINAL_STATES
        ):
            continue
        was = old.status.state + (" while rolling back" if old.status.rolling_back else "")
        done = old.with_status(
            state="canceled",
            rolling_back=False,
            completed_at=utc_now(),
            message=f"superseded by {newer.id} (a newer plan for {old.deployment_set}); "
            f"it was {was}: {old.status.message or 'interrupted'}",
        )
        save(root, done)
        canceled.append(done)
    return canceled


def remove(root: Path, rid: str) -> None:
    path = rollouts_dir(root) / f"{rid}.json"
    with _lock:
        path.unlink(missing_ok=True)
        journal.forget(path)


def save_plan(root: Path, plan: Plan, digest: str, data: dict[str, Any] | None = None) -> str:
    rel = f".reconcile/rollouts/plans/{digest[:16]}.json"
    path = root / rel
    if not path.exists():
        data = plan.to_dict() if data is None else data
        atomic_write(path, jsonpieces.pretty(data, sort_keys=True))
    return rel


def load_plan(root: Path, rel: str) -> Plan:
    path = root / rel
    try:
        return Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReconcileError(f"{path}: cannot read the rollout's plan ({e})") from None
