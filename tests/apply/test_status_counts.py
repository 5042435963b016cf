"""`reconcile status` counts devices apart (failed, rolled back, stale, deferred), does not
call a rollout with stale and deferred devices "all devices done", and rejects a
non-positive --limit instead of saying "No rollouts yet"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.apply import record as rec
from reconciler.apply.ledger import LedgerEntry, LedgerState
from reconciler.cli import main
from reconciler.model.enums import DeviceOutcome, RolloutState
from reconciler.model.rollout import RolloutSpec


def save(root: Path, rid: str, state: rec.State, states: dict[str, LedgerState], message: str) -> None:
    (root / "reconcile.yaml").write_text("target:\n  emulator:\n    db: .reconcile/emulator.db\n")
    (root / "east.yaml").write_text(  # a project manages devices through at least one set
        "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: east}\n"
        "spec: {selector: {devices: [a]}, release: v1}\n"
    )
    devices = tuple(LedgerEntry(d, "east", "deploy", st, wave=1) for d, st in states.items())
    status = rec.RolloutStatus(
        state=state,
        current_wave=1,
        total_waves=1,
        updated_nodes=sum(1 for s in states.values() if s == "succeeded"),
        failed_nodes=sum(1 for s in states.values() if s in ("failed", "rolled_back")),
        total_nodes=len(states),
        message=message,
        created_at=f"2026-01-0{len(rid)}T00:00:00.000000Z",
    )
    rec.save(root, rec.RolloutRecord(rid, "east", RolloutSpec(), status, devices=devices))


def status(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["status", *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_counts_apart_and_what_is_left(tmp_path: Path) -> None:
    save(
        tmp_path,
        "ro-1",
        RolloutState.COMPLETED,
        {
            "a": DeviceOutcome.SUCCEEDED,
            "b": DeviceOutcome.SUCCEEDED,
            "c": DeviceOutcome.STALE,
            "d": DeviceOutcome.DEFERRED,
            "e": DeviceOutcome.DEFERRED,
        },
        "all devices done",
    )
    code, out, _ = status(str(tmp_path))
    assert code == 0
    assert "2/5 updated, 0 failed, 1 stale, 2 deferred" in out
    assert "all devices done" not in out
    assert "2 of 5 devices updated; " in out and "1 stale (changed since the plan, plan again)" in out
    assert "2 deferred (offline, they get the update when they return)" in out


def test_failed_and_rolled_back_are_not_one_number(tmp_path: Path) -> None:
    states: dict[str, LedgerState] = {"a": DeviceOutcome.FAILED, "b": DeviceOutcome.FAILED}
    states |= {f"h{i}": DeviceOutcome.ROLLED_BACK for i in range(4)}
    save(
        tmp_path, "ro-22", RolloutState.FAILED, states, "stopped: 2 failed (budget 1); rolled back 4 devices"
    )
    _, out, _ = status(str(tmp_path))
    assert "0/6 updated, 2 failed, 4 rolled back" in out and "6 failed" not in out


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_non_positive_limit_is_rejected(tmp_path: Path, limit: str) -> None:
    save(tmp_path, "ro-1", RolloutState.COMPLETED, {"a": DeviceOutcome.SUCCEEDED}, "all devices done")
    code, out, err = status(str(tmp_path), "--limit", limit)
    assert code == 1 and out == ""
    assert "--limit" in err and "No rollouts yet" not in out + err
