"""The journal of a rollout record: `<id>.jsonl` beside `<id>.json`, one line per saved state
change (the whole new status and the device entries that changed). Rewriting the record on
every change made a rollout's bookkeeping quadratic in its devices (100,000 devices: hours of
CPU, seconds of frozen polling per write); a line costs what changed.

Each line carries the status `revision` it produced. Reading applies, over the record, the
lines newer than the record's own revision, so a record folded from its journal (when the
rollout ends, or rewritten whole) never has older lines applied on top of it, whether or not
the journal was removed yet. A torn last line (a crash mid-write) is ignored."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.apply.ledger import LedgerEntry
from reconciler.errors import Location, ReconcileError
from reconciler.model.enums import RolloutState

if TYPE_CHECKING:
    from reconciler.apply.record import RolloutRecord, RolloutStatus


@dataclass
class _Open:
    entries: dict[str, LedgerEntry]  # by device, as last saved
    revision: int  # the status revision last saved
    # The devices the entries were last pruned to: a rollout passes the same collection on
    # every save, and walking every entry on each save made saving quadratic in devices.
    pruned_to: Collection[str] | None = None


# Journals this process writes, by record path (one writer per rollout: apply's guard).
_open: dict[Path, _Open] = {}


def path_of(record_path: Path) -> Path:
    return record_path.with_suffix(".jsonl")


def status_dict(status: RolloutStatus) -> dict[str, Any]:
    return {**status.__dict__, "canary_nodes": list(status.canary_nodes)}


def entry_dict(e: LedgerEntry) -> dict[str, Any]:
    """`e.to_dict()` without `dataclasses.asdict`'s deep copy (the fields are flat), which made
    most of the cost of saving."""
    return dict(e.__dict__)


def start(record_path: Path, record: RolloutRecord) -> _Open:
    known = _open.get(record_path)
    if known is None:
        known = _open[record_path] = _Open({e.device: e for e in record.devices}, record.status.revision)
    return known


def forget(record_path: Path) -> None:
    _open.pop(record_path, None)
    path_of(record_path).unlink(missing_ok=True)


def merged(
    record: RolloutRecord, changed: Iterable[LedgerEntry], devices: Collection[str]
) -> list[LedgerEntry]:
    entries = {e.device: e for e in record.devices}
    entries.update((e.device, e) for e in changed)
    return [e for name, e in entries.items() if name in devices]


def append(
    record_path: Path, record: RolloutRecord, changed: Iterable[LedgerEntry], devices: Collection[str]
) -> None:
    """Append one line (the entries of `devices` after it: `entries`)."""
    known = start(record_path, record)
    changed = list(changed)
    for e in changed:
        known.entries[e.device] = e
    # A resumed rollout replanned with fewer devices: looked for once per rollout run.
    removed: list[str] = []
    if known.pruned_to is not devices:
        removed = [n for n in known.entries if n not in devices]
        known.pruned_to = devices
    for name in removed:
        del known.entries[name]
    body: dict[str, Any] = {"status": status_dict(record.status), "devices": [entry_dict(e) for e in changed]}
    if removed:
        body["removed"] = removed
    line = json.dumps(body, separators=(",", ":"))
    path = path_of(record_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        # In the kernel before the next platform write, so a crashed process (even SIGKILL)
        # leaves it behind; fsync, for a crash of the machine, follows on a thread.
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    _sync_soon(path)
    known.revision = record.status.revision


def entries(record_path: Path) -> tuple[LedgerEntry, ...] | None:
    """Every device's entry as last appended (None: this process has no journal open there)."""
    known = _open.get(record_path)
    return None if known is None else tuple(known.entries.values())


# fsync took most of a save's wall time and held the event loop (every poll, every start)
# for it. One thread syncs each journal after its appends; appends made while a sync waits
# are covered by it, so a burst of saves costs one fsync. The record is a log and a cache
# (the platform holds the state), so a machine crash may lose its last lines, never a
# process crash. The executor's worker is joined when the interpreter exits.
_syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-fsync")
_waiting: set[Path] = set()
_waiting_lock = threading.Lock()


def _sync_soon(path: Path) -> None:
    with _waiting_lock:
        if path in _waiting:
            return
        _waiting.add(path)
    _syncer.submit(_sync, path)


def _sync(path: Path) -> None:
    with _waiting_lock:
        _waiting.discard(path)  # an append from now on asks for another sync
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # folded into the record meanwhile
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def synced() -> None:
    """Wait until every journal line appended so far is on disk (tests, benchmarks)."""
    _syncer.submit(lambda: None).result()


def folded(record_path: Path, revision: int) -> None:
    """The record at `revision` is on disk whole: drop the journal unless lines came after."""
    known = _open.get(record_path)
    if known is not None and known.revision == revision:
        path_of(record_path).unlink(missing_ok=True)


def replay(record_path: Path, base: RolloutRecord) -> RolloutRecord:
    """`base` (the record file) with its journal's newer lines applied."""
    path = path_of(record_path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return base
    status, entries = base.status, {e.device: e for e in base.devices}
    applied = False
    for n, text in enumerate(lines, 1):
        try:
            line = json.loads(text)
            st = dict(line["status"])
            if int(st["revision"]) <= status.revision:
                continue
            st["canary_nodes"] = tuple(st.get("canary_nodes", ()))
            st["state"] = RolloutState(st.get("state", RolloutState.PENDING))
            status = type(base.status)(**st)
            for d in line["devices"]:
                e = LedgerEntry.from_dict(d)
                entries[e.device] = e
            for name in line.get("removed", ()):
                entries.pop(name, None)
            applied = True
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            if n == len(lines):
                break  # torn by a crash mid-write: the change before it is what was saved
            raise ReconcileError(
                f"not a readable rollout journal line: {e}",
                location=Location(str(path), n),
                hint="delete the file if it is not needed",
            ) from None
    return replace(base, status=status, devices=tuple(entries.values())) if applied else base
