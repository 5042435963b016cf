"""The rollout record's journal: changes are appended, read back by `load` and `read_records`,
folded into the record when the rollout ends; a torn last line is ignored."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from reconciler.apply import record as rec
from reconciler.apply.ledger import LedgerEntry
from reconciler.errors import ReconcileError
from reconciler.model.enums import DeviceOutcome, RolloutState
from reconciler.model.rollout import RolloutSpec


def _entry(
    name: str, state: DeviceOutcome = DeviceOutcome.NOT_ATTEMPTED, dep: str | None = None
) -> LedgerEntry:
    return LedgerEntry(
        device=name, deployment_set="east", action="update", state=state, wave=1, deployment_id=dep
    )


def _start(root: Path, n: int) -> rec.RolloutRecord:
    names = [f"amr-{i:05d}" for i in range(n)]
    record = rec.RolloutRecord(
        id="ro-000000000001",
        deployment_set="east",
        spec=RolloutSpec(),
        status=rec.RolloutStatus(created_at=rec.utc_now(), total_nodes=n),
        devices=tuple(_entry(x) for x in names),
    )
    rec.save(root, record)
    return record


def _paths(root: Path) -> tuple[Path, Path]:
    d = rec.rollouts_dir(root)
    return d / "ro-000000000001.json", d / "ro-000000000001.jsonl"


def test_changes_are_appended_and_read_back(tmp_path: Path) -> None:
    record = _start(tmp_path, 50)
    whole, journal = _paths(tmp_path)
    before = whole.read_text()
    names = [e.device for e in record.devices]
    record = rec.append(
        tmp_path,
        record.with_status(state=RolloutState.IN_PROGRESS),
        [_entry(names[3], DeviceOutcome.IN_FLIGHT, "dpl_3")],
        names,
    )
    record = rec.append(
        tmp_path,
        record.with_status(updated_nodes=1),
        [_entry(names[3], DeviceOutcome.SUCCEEDED, "dpl_3")],
        names,
    )
    assert whole.read_text() == before  # the record is not rewritten mid-rollout
    lines = journal.read_text().splitlines()
    assert len(lines) == 2 and len(json.loads(lines[1])["devices"]) == 1
    loaded = rec.load(tmp_path, record.id)
    assert loaded == record and loaded.devices[3].state == "succeeded" and loaded.status.updated_nodes == 1
    assert rec.read_records(tmp_path)[0] == [record]
    # A resumed run that dropped a device: the entry goes, in memory and on reading.
    record = rec.append(tmp_path, record.with_status(), [], names[1:])
    assert rec.load(tmp_path, record.id) == record and len(record.devices) == 49
    # The end folds the journal into the record.
    done = rec.append(tmp_path, record.with_status(state=RolloutState.COMPLETED), [], names[1:])
    assert not journal.exists() and json.loads(whole.read_text()) == done.to_dict()


def test_a_large_rollout_is_folded_by_a_thread_and_old_lines_are_skipped(tmp_path: Path) -> None:
    record = _start(tmp_path, rec.FOLD_AT_ONCE + 1)
    whole, journal = _paths(tmp_path)
    names = [e.device for e in record.devices]
    record = rec.append(tmp_path, record.with_status(), [_entry(names[0], DeviceOutcome.FAILED)], names)
    stale_line = journal.read_text()
    done = rec.append(tmp_path, record.with_status(state=RolloutState.FAILED), [], names)
    for t in threading.enumerate():
        if t.name.startswith("compact "):
            t.join()
    assert not journal.exists() and json.loads(whole.read_text()) == done.to_dict()
    # written in pieces (the event loop gets the lock between them), the same bytes as one dump
    assert whole.read_text() == json.dumps(done.to_dict(), indent=2) + "\n"
    # A crash between folding and removing the journal: its lines are older than the record.
    journal.write_text(stale_line)
    assert rec.load(tmp_path, done.id) == done


def test_a_torn_last_line_is_ignored_and_a_damaged_one_named(tmp_path: Path) -> None:
    record = _start(tmp_path, 3)
    _, journal = _paths(tmp_path)
    names = [e.device for e in record.devices]
    record = rec.append(tmp_path, record.with_status(), [_entry(names[0], DeviceOutcome.IN_FLIGHT)], names)
    good = journal.read_text()
    journal.write_text(good + good[: len(good) // 2])
    assert rec.load(tmp_path, record.id) == record
    journal.write_text(good[: len(good) // 2] + "\n" + good)
    with pytest.raises(ReconcileError) as e:
        rec.load(tmp_path, record.id)
    assert e.value.location is not None and e.value.location.line == 1
    assert e.value.location.file.endswith(".jsonl")
