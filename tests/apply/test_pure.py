"""Pure parts of apply: health verdicts, the failure budget, records, ledger. (Waves:
tests/strategies/.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.apply import record as rec
from reconciler.apply.health import Observation, Track, assess, budget_crossed
from reconciler.apply.ledger import LedgerEntry, exit_code
from reconciler.model.enums import Action, DeviceOutcome
from reconciler.model.plan import DeviceChange, Plan
from reconciler.model.rollout import HealthCheck, RolloutSpec

DEVICES = [f"d{i:02d}" for i in range(10)]


SPEC = RolloutSpec(health_check=HealthCheck(deadline=30, min_healthy_time=2))


def test_healthy_only_after_min_healthy_time() -> None:
    t = Track(started_at=0)
    deployed = Observation("deployed", "none", "deployed")
    a = assess(t, deployed, 1, SPEC)
    assert a.verdict == "pending" and a.track.deployed_since == 1
    assert assess(a.track, deployed, 2.5, SPEC).verdict == "pending"
    assert assess(a.track, deployed, 3, SPEC).verdict == "healthy"
    # leaving `deployed` during the wait fails it
    assert assess(a.track, Observation("removing", "none", "archived"), 2, SPEC).verdict == "failed"


def test_failed_deadline_and_deferred() -> None:
    t = Track(started_at=0)
    assert assess(t, Observation("archived", "failed", "archived"), 1, SPEC).verdict == "failed"
    queued_online = Observation("queued", "none", "deployed", device_online=True)
    assert assess(t, queued_online, 29, SPEC).verdict == "pending"
    assert assess(t, queued_online, 30, SPEC).verdict == "failed"
    queued_offline = Observation("queued", "none", "deployed", device_online=False)
    assert assess(t, queued_offline, 100, SPEC).verdict == "deferred"


def test_budget() -> None:
    spec = RolloutSpec(
        max_failed_nodes=2, max_failed_nodes_percent=50, health_check=HealthCheck(max_error_rate=0.5)
    )
    assert budget_crossed(spec, failed=2, finished=10, total=100) is None
    assert "max_failed_nodes=" in (budget_crossed(spec, failed=3, finished=10, total=100) or "")
    spec = RolloutSpec(
        max_failed_nodes=100, max_failed_nodes_percent=10, health_check=HealthCheck(max_error_rate=1)
    )
    assert "percent" in (budget_crossed(spec, failed=3, finished=3, total=20) or "")
    spec = RolloutSpec(
        max_failed_nodes=100, max_failed_nodes_percent=100, health_check=HealthCheck(max_error_rate=0.1)
    )
    # one early failure is not an error rate yet; 2 of 10 is
    assert budget_crossed(spec, failed=1, finished=1, total=100) is None
    assert "error rate" in (budget_crossed(spec, failed=2, finished=10, total=100) or "")
    # a rollout smaller than the sample is judged once every device has finished
    assert budget_crossed(spec, failed=1, finished=4, total=5) is None
    assert "error rate" in (budget_crossed(spec, failed=1, finished=5, total=5) or "")


def test_record_round_trip_and_atomic_save(tmp_path: Path) -> None:
    plan = Plan(
        changes=(DeviceChange(device="a", device_id="dvc_1", action=Action.DEPLOY, deployment_set="s"),)
    )
    digest = rec.plan_digest(plan)
    assert digest == rec.plan_digest(Plan.from_dict(json.loads(json.dumps(plan.to_dict()))))
    rid = rec.rollout_id(digest, "s")
    r = rec.RolloutRecord(
        id=rid,
        deployment_set="s",
        spec=RolloutSpec(strategy="canary", options={"canary_count": 1}),
        status=rec.RolloutStatus(created_at=rec.utc_now()),
        devices=(LedgerEntry("a", "s", "deploy", DeviceOutcome.SUCCEEDED, 1, "dpl_1"),),
    )
    r = r.with_status(state="completed")
    rec.save(tmp_path, r)
    loaded = rec.load(tmp_path, rid)
    assert loaded == r and loaded.status.revision == 1
    assert [x.id for x in rec.list_records(tmp_path)] == [rid]
    assert not list((tmp_path / ".reconcile" / "rollouts").glob("*.tmp"))


def test_exit_code() -> None:
    ok = LedgerEntry("a", "s", "deploy", DeviceOutcome.SUCCEEDED)
    deferred = LedgerEntry("b", "s", "deploy", DeviceOutcome.DEFERRED)
    assert exit_code([ok, deferred]) == 0
    assert exit_code([ok, LedgerEntry("c", "s", "deploy", DeviceOutcome.STALE)]) == 1
    waiting = LedgerEntry(
        "d",
        "s",
        "deploy",
        DeviceOutcome.NOT_ATTEMPTED,
        reason="waiting for promotion (x)",
        reason_code="awaiting-promotion",
    )
    assert exit_code([ok, waiting]) == 0
    stopped = LedgerEntry(
        "d", "s", "deploy", DeviceOutcome.NOT_ATTEMPTED, reason="not started: the rollout stopped"
    )
    assert exit_code([ok, stopped]) == 1
    # blocked in the plan: a device with no agent is not apply's failure; bad content is
    spare = LedgerEntry("e", "s", "blocked", DeviceOutcome.NOT_ATTEMPTED, reason_code="not-enrolled")
    archived = LedgerEntry("f", "s", "blocked", DeviceOutcome.NOT_ATTEMPTED, reason_code="device-archived")
    assert exit_code([ok, spare, archived]) == 0
    for code in ("content-invalid", "release-unknown", "drift-review", "slot-missing", "device-unknown"):
        assert (
            exit_code([ok, LedgerEntry("g", "s", "blocked", DeviceOutcome.NOT_ATTEMPTED, reason_code=code)])
            == 1
        )


def test_plain_progress_lines_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.apply.progress import reporter

    r = reporter(interactive=False)
    r.wave("fleet", 1, 3, 4)
    r.device("fleet", "amr-1", "in_flight")
    r.device("fleet", "amr-1", "rolled_back", "budget")
    r.close()
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "[fleet] wave 1/3: 4 devices",
        "[fleet] amr-1: started",
        "[fleet] amr-1: rolled back (budget)",
    ]


def test_write_backoff_honours_retry_after() -> None:
    import httpx
    import miru_platform_sdk as sdk

    from reconciler.errors import PlatformError
    from reconciler.platform.errors import map_error
    from reconciler.platform.retry import WRITES

    response = httpx.Response(
        429, headers={"retry-after": "3"}, request=httpx.Request("POST", "http://x/beta/deployments")
    )
    try:
        try:
            raise sdk.RateLimitError("slow down", response=response, body=None)
        except sdk.APIStatusError as e:
            raise map_error(e, "create") from None  # what Platform.write does
    except Exception as mapped:
        assert isinstance(mapped, PlatformError)
        assert WRITES.delay(0, mapped.retry_after) == 3.0
    assert WRITES.delay(0) < 1
