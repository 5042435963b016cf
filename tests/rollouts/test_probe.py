"""Health beyond "landed": `rollout.health_check.probe` asks each device's HTTP endpoint once it
is deployed and through min_healthy_time; a failing answer fails the device, so it counts
toward the failure budget. The emulator's probe endpoint answers as each test scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.health import probe_failure
from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.rollout import Probe
from tests.apply.helpers import deployments, is_rollback, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

PROBE = {"url": "/_emulator/probe/{device_name}", "json": {"field": "state", "equals": "ok"}, "timeout": "2s"}
HEALTH = {"deadline": "30s", "min_healthy_time": "3s", "probe": PROBE}


async def script(emu: Harness, device: str, status: int, body: Any) -> None:
    response = await emu.admin.put(f"/_emulator/probe/{device}", json={"status": status, "body": body})
    assert response.status_code == 200, response.text


def test_a_probe_answer_is_judged_by_status_then_field() -> None:
    p = Probe(url="/x", status=200, field="checks.nav", equals="ok")
    assert probe_failure(p, 200, '{"checks": {"nav": "ok"}}') is None
    assert probe_failure(p, 503, "") == "health probe answered HTTP 503, expected 200"
    assert (
        probe_failure(p, 200, '{"checks": {"nav": "lost"}}')
        == 'health probe: checks.nav is "lost", expected "ok"'
    )
    assert probe_failure(p, 200, "<html>") == "health probe: the answer is not JSON"
    assert probe_failure(p, 200, '{"checks": 1}') == "health probe: no field 'checks.nav' in the answer"
    assert probe_failure(p, None, "", "no answer within 2s") == "health probe: no answer within 2s"
    assert probe_failure(Probe(url="/x"), 200, "anything") is None


@pytest.mark.anyio
async def test_a_probe_failing_on_one_canary_stops_the_rollout_and_rolls_back(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    await script(emu, "lab-arm-01", 200, {"state": "degraded"})  # landed, but misbehaves
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={
            "strategy": "canary",
            "canary": {"devices": ["lab-arm-01"]},
            "auto_promote": True,
            "health_check": HEALTH,
        },
    )
    plan = await make(root)
    assert plan.rollouts["all"].spec.health_check.probe == Probe(
        url="/_emulator/probe/{device_name}", field="state", equals="ok", timeout=2.0
    )
    assert plan.to_dict()["rollouts"]["all"]["spec"]["health_check"]["probe"]["json"] == PROBE["json"]
    validate(plan.to_dict(), "plan.schema.json")
    result = await run(root, plan)
    assert result.exit_code == 1
    (record,) = result.records
    assert record.status.state == "failed" and "1/3 failed devices exceed" in record.status.message
    states = {e.device: e.state for e in result.ledger}
    assert states["lab-arm-01"] == "rolled_back"
    assert states["lab-arm-02"] == states["lab-arm-03"] == "not_attempted"
    ours = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    assert any(is_rollback(d.description) for d in ours)


@pytest.mark.anyio
async def test_probe_failures_count_toward_the_error_rate_and_healthy_answers_pass(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    await script(emu, "amr-east-03", 503, {"state": "ok"})
    by_id = {**PROBE, "url": "/_emulator/probe/{device_id}"}
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("fleet",),
        rollout={
            "strategy": "rolling",
            "max_parallel": 7,
            "max_failed_nodes": 5,
            "max_failed_nodes_percent": 50,
            "health_check": {**HEALTH, "probe": by_id, "max_error_rate": 0.5},
        },
    )
    result = await run(root, await make(root))
    states = {e.device: (e.state, e.reason) for e in result.ledger}
    assert states["amr-east-03"] == ("failed", "health probe answered HTTP 503, expected 200")
    assert {s for d, (s, _) in states.items() if d != "amr-east-03"} == {"succeeded"}
    assert result.exit_code == 1 and result.records[0].status.failed_nodes == 1
    assert result.records[0].status.state == "completed"  # within the budget: the rest went on


def test_a_probe_url_must_be_http_or_a_path(emu: Harness, tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={"strategy": "rolling", "health_check": {"probe": {"url": "ftp://robot/{device_name}"}}},
    )
    with pytest.raises(ValidationFailed) as failed:
        load_path(root)
    assert any(
        "probe.url" in ((p.location.json_path or "") if p.location else "") for p in failed.value.problems
    )
