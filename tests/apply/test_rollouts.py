"""Rollout strategies, health gates, budget and rollback against the emulator with
simulated agents. Plans come from the real planner; time passes only by emulator ticks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import record as rec
from tests.apply.helpers import deployments, is_rollback, make, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def own(deps: list[Any]) -> list[Any]:
    return [d for d in deps if d.description.startswith("reconcile ")]


async def targets(emu: Harness) -> dict[str, str | None]:
    sdk = emu.sdk()
    page = await sdk.devices.list(limit=100, expand=["current_deployment"])
    return {d.name: d.current_deployment.id if d.current_deployment else None for d in page.data}


async def instance_ids(emu: Harness, deployment_id: str) -> tuple[str, list[str]]:
    d = await emu.sdk().deployments.retrieve(deployment_id, expand=["config_instances"])
    return d.release_id, sorted(c.id for c in d.config_instances or [])


async def test_immediate_updates_every_device_once(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    root = write_project(tmp_path / "p", emu, rollout={"strategy": "immediate"})
    plan = await make(root)
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert states["amr-east-07"] == "deferred"  # offline: queued, not failed
    assert sum(1 for s in states.values() if s == "succeeded") == 16
    assert states["amr-spare-01"] == "not_attempted"  # blocked in the plan: never enrolled
    assert result.exit_code == 0
    assert len(own(await deployments(emu))) == 17  # one per changed device
    (record,) = result.records
    assert record.status.state == "completed" and record.status.current_wave == 1
    saved = json.loads((root / ".reconcile" / "rollouts" / f"{record.id}.json").read_text())
    assert saved["status"]["state"] == "completed" and saved["status"]["updated_nodes"] == 16
    assert not (await make(root)).has_changes


async def test_rolling_keeps_at_most_max_parallel_in_flight(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p", emu, rollout={"strategy": "rolling", "max_parallel": 3, "health_check": HEALTH}
    )
    result = await run(root, await make(root))
    assert result.exit_code == 0
    assert result.records[0].status.current_wave == 6  # 17 devices, 3 at a time
    mine = own(await deployments(emu))
    assert len(mine) == 17
    # At any creation time, devices started but not yet healthy (deployed + 2 s) are <= 3.
    for t in sorted({d.created_at for d in mine}):
        busy = [
            d
            for d in mine
            if d.created_at <= t and (d.deployed_at is None or (d.deployed_at - t).total_seconds() > -2)
        ]
        assert len(busy) <= 3, (t, [d.id for d in busy])


async def test_canary_pauses_then_promote_finishes(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_count": 1, "auto_promote": False, "health_check": HEALTH},
    )
    plan = await make(root)
    assert {c.action for c in plan.changes} == {"upgrade"}
    first = await run(root, plan)
    (record,) = first.records
    assert record.status.state == "paused" and record.status.canary_nodes == ("lab-arm-01",)
    assert {e.device: e.state for e in first.ledger} == {
        "lab-arm-01": "succeeded",
        "lab-arm-02": "not_attempted",
        "lab-arm-03": "not_attempted",
    }
    assert first.exit_code == 0  # a healthy pause is not an error
    assert len(own(await deployments(emu))) == 1
    # Running the same plan again without --promote stays paused and writes nothing.
    again = await run(root, plan)
    assert again.records[0].status.state == "paused" and len(own(await deployments(emu))) == 1
    promoted = await run(root, plan, promote=True)
    assert promoted.records[0].status.state == "completed" and promoted.records[0].status.canary_promoted
    assert all(e.state == "succeeded" for e in promoted.ledger)
    sdk = emu.sdk()
    page = await sdk.devices.list(limit=100, expand=["current_release"])
    assert {
        d.name: d.current_release.version for d in page.data if d.name.startswith("lab") and d.current_release
    } == {f"lab-arm-0{i}": "v1.4.2" for i in (1, 2, 3)}
    assert len(own(await deployments(emu))) == 3
    assert rec.load(root, record.id) is not None


async def test_failing_canary_stops_before_wave_2_and_rolls_back(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={
            "strategy": "canary",
            "canary_count": 2,
            "auto_promote": True,
            "max_parallel": 5,
            "health_check": HEALTH,
        },
    )
    plan = await make(root)
    before = await targets(emu)
    await emu.patch_device("amr-east-02", agent={"behaviour": "fail"})
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert states["amr-east-01"] == "rolled_back"
    assert states["amr-east-02"] == "failed"
    assert all(s == "not_attempted" for d, s in states.items() if d not in ("amr-east-01", "amr-east-02"))
    assert result.records[0].status.state == "failed" and result.records[0].status.current_wave == 1
    assert result.exit_code == 1
    await emu.tick(5)  # the rollbacks land: a platform may report them only once confirmed
    now = await targets(emu)
    for name in before:
        if name not in ("amr-east-01", "amr-east-02"):
            assert now[name] == before[name], name  # wave 2 never started
    # amr-east-01 runs a new deployment with its previous release and config instances.
    e01 = next(e for e in result.ledger if e.device == "amr-east-01")
    assert now["amr-east-01"] == e01.rollback_deployment_id
    rolled, old = now["amr-east-01"] or "", before["amr-east-01"] or ""
    assert await instance_ids(emu, rolled) == await instance_ids(emu, old)
    assert now["amr-east-02"] == before["amr-east-02"]  # the agent refused it; it kept the old one


async def test_budget_crossed_in_wave_3_rolls_back_waves_1_to_3(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={"strategy": "rolling", "max_parallel": 3, "max_failed_nodes": 1, "health_check": HEALTH},
    )
    plan = await make(root)
    order = [c.device for c in plan.changes if c.action == "deploy"]
    wave3 = order[6:9]
    before = await targets(emu)
    for name in wave3[:2]:  # two failures cross max_failed_nodes=1
        await emu.patch_device(name, agent={"behaviour": "fail"})
    await emu.patch_device(wave3[2], agent={"behaviour": "retry"})  # took it, never deployed
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert result.records[0].status.state == "failed" and result.records[0].status.current_wave == 3
    assert [states[n] for n in order[:6]] == ["rolled_back"] * 6
    # the third never went live (its agent retries), nor does its rollback yet: issued, not confirmed
    assert [states[n] for n in wave3] == ["failed", "failed", "rollback_issued"]
    assert all(states[n] == "not_attempted" for n in order[9:])
    await emu.tick(5)  # the rollbacks land: a platform may report them only once confirmed
    now = await targets(emu)
    for name in order[9:]:
        assert now[name] == before[name], name
    for name in order[:6]:
        assert now[name] != before[name]
        assert await instance_ids(emu, now[name] or "") == await instance_ids(emu, before[name] or "")
    # rollback deployments are marked as such, so a rerun never confuses them with the update
    rb = [d for d in own(await deployments(emu)) if is_rollback(d.description)]
    assert len(rb) == 7
    assert len({d.created_at for d in rb}) == 1  # all at once: no waves, no health wait between them


async def test_offline_devices_deferred_then_converge_on_rerun(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=["amr-east-03", "amr-west-02"]))
    root = write_project(
        tmp_path / "p", emu, rollout={"strategy": "rolling", "max_parallel": 2, "health_check": HEALTH}
    )
    result = await run(root, await make(root))
    states = {e.device: e.state for e in result.ledger}
    assert states["amr-east-03"] == states["amr-west-02"] == "deferred"
    assert result.exit_code == 0
    deferred = {e.device: e.deployment_id for e in result.ledger if e.state == "deferred"}
    sdk = emu.sdk()
    for dep in deferred.values():
        assert (await sdk.deployments.retrieve(dep or "")).activity_status == "queued"
    for name in ("amr-east-03", "amr-west-02"):
        await emu.patch_device(name, status="online")
    await emu.tick(5)
    # apply is rerun (a fresh plan, as on the next merge): nothing is left to write
    rerun = await make(root)
    assert not rerun.has_changes
    again = await run(root, rerun)
    assert again.records == () and again.exit_code == 0
    now = await targets(emu)
    for name, dep in deferred.items():
        assert now[name] == dep  # the queued deployment landed once the device came back
        assert (await sdk.deployments.retrieve(dep or "")).activity_status == "deployed"
    assert len(own(await deployments(emu))) == 17


async def test_a_device_changed_since_the_plan_is_stale(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    plan = await make(root)
    # someone else deploys to lab-arm-02 after the plan was made
    sdk = emu.sdk()
    cur = await sdk.deployments.retrieve(plan.changes[1].parent_token or "", expand=["config_instances"])
    await sdk.deployments.create(
        device_id=cur.device_id,
        release_id=cur.release_id,
        description="by hand",
        config_instance_ids=[c.id for c in cur.config_instances or []],
        target_status="deployed",
        parent_id=cur.id,
    )
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert states == {"lab-arm-01": "succeeded", "lab-arm-02": "stale", "lab-arm-03": "succeeded"}
    assert result.exit_code == 1


async def test_rerun_of_an_applied_plan_without_its_record_writes_nothing(
    emu: Harness, tmp_path: Path
) -> None:
    """The 409 path: every create conflicts, each device is read again, and the
    deployment found there (matched by description) counts as done."""
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    plan = await make(root)
    await run(root, plan)
    for p in (root / ".reconcile" / "rollouts").glob("ro-*.json"):
        p.unlink()
    again = await run(root, plan)
    assert all(e.state == "succeeded" for e in again.ledger)
    assert len(own(await deployments(emu))) == 3


async def test_failed_upgrade_canary_rolls_back_to_the_previous_release(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_count": 2, "auto_promote": True, "health_check": HEALTH},
    )
    plan = await make(root)
    before = await targets(emu)
    # lab-arm-02 takes the new deployment but never gets it live: failed at the deadline
    await emu.patch_device("lab-arm-02", agent={"behaviour": "retry"})
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    # lab-arm-02's agent still retries: its rollback is written but not confirmed, and says so
    assert states == {
        "lab-arm-01": "rolled_back",
        "lab-arm-02": "rollback_issued",
        "lab-arm-03": "not_attempted",
    }
    await emu.patch_device("lab-arm-02", agent={"behaviour": "ok"})
    await emu.tick(15)
    page = await emu.sdk().devices.list(limit=100, expand=["current_release", "current_deployment"])
    by_name = {d.name: d for d in page.data}
    for name in ("lab-arm-01", "lab-arm-02"):
        release, deployment = by_name[name].current_release, by_name[name].current_deployment
        assert release is not None and release.version == "v1.4.1"
        assert deployment is not None
        now = deployment.id
        assert await instance_ids(emu, now) == await instance_ids(emu, before[name] or "")
    kept = by_name["lab-arm-03"].current_deployment
    assert kept is not None and kept.id == before["lab-arm-03"]


async def test_stage_activation_stages_then_restage_archives_the_old_one(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p", emu, groups=("lab",), release="v1.4.2", extra={"activation": "stage"}
    )
    plan = await make(root)
    assert {c.action for c in plan.changes} == {"stage"}
    before = await targets(emu)
    first = await run(root, plan)
    assert all(e.state == "succeeded" for e in first.ledger)
    assert await targets(emu) == before  # staged only: nothing deployed
    staged = {e.device: e.deployment_id for e in first.ledger}
    assert not (await make(root)).has_changes
    write_project(root, emu, groups=("lab",), release="v1.4.2", max_speed=1.3, extra={"activation": "stage"})
    replan = await make(root)
    assert {c.action for c in replan.changes} == {"restage"}
    second = await run(root, replan)
    assert all(e.state == "succeeded" for e in second.ledger)
    sdk = emu.sdk()
    for old in staged.values():
        assert (await sdk.deployments.retrieve(old or "")).target_status == "archived"
    for e in second.ledger:
        assert (await sdk.deployments.retrieve(e.deployment_id or "")).target_status == "staged"


async def test_no_auto_rollback_stops_without_rolling_back(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={
            "strategy": "rolling",
            "max_parallel": 2,
            "max_failed_nodes": 0,
            "no_auto_rollback": True,
            "health_check": HEALTH,
        },
    )
    plan = await make(root)
    order = [c.device for c in plan.changes if c.action == "deploy"]
    await emu.patch_device(order[2], agent={"behaviour": "fail"})
    result = await run(root, plan)
    ledger = [e for e in result.ledger if e.action != "blocked"]  # amr-spare-01
    states = [e.state for e in sorted(ledger, key=lambda e: order.index(e.device))]
    # wave 2's other device was already updating: it finishes its health check
    assert states[:4] == ["succeeded", "succeeded", "failed", "succeeded"]
    assert set(states[4:]) == {"not_attempted"}
    assert "no_auto_rollback" in result.records[0].status.message
    assert not [d for d in own(await deployments(emu)) if is_rollback(d.description)]
    assert result.exit_code == 1


async def test_device_going_offline_after_the_plan_is_deferred_and_frees_its_slot(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "rolling", "max_parallel": 1, "health_check": HEALTH},
    )
    plan = await make(root)
    await emu.patch_device("lab-arm-01", status="offline")
    result = await run(root, plan)
    assert {e.device: e.state for e in result.ledger} == {
        "lab-arm-01": "deferred",
        "lab-arm-02": "succeeded",
        "lab-arm-03": "succeeded",
    }
    assert result.exit_code == 0
    await emu.patch_device("lab-arm-01", status="online")
    await emu.tick(3)
    assert not (await make(root)).has_changes


async def test_rollback_reaches_a_deferred_device_too(emu: Harness, tmp_path: Path) -> None:
    """An offline device took the update (queued); when the budget is crossed it is rolled
    back like the others, and gets its previous content when it returns."""
    await emu.seed(example_fleet(offline=["lab-arm-01"]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "rolling", "max_parallel": 1, "max_failed_nodes": 0, "health_check": HEALTH},
    )
    plan = await make(root)
    before = await targets(emu)
    await emu.patch_device("lab-arm-02", agent={"behaviour": "fail"})
    result = await run(root, plan)
    assert {e.device: e.state for e in result.ledger} == {
        "lab-arm-01": "rollback_issued",  # offline: it takes the rollback when it returns
        "lab-arm-02": "failed",
        "lab-arm-03": "not_attempted",
    }
    await emu.patch_device("lab-arm-01", status="online")
    await emu.tick(5)
    now = await targets(emu)
    rolled = next(e.rollback_deployment_id for e in result.ledger if e.device == "lab-arm-01")
    assert now["lab-arm-01"] == rolled
    assert (await emu.sdk().deployments.retrieve(rolled or "")).activity_status == "deployed"
    assert await instance_ids(emu, rolled or "") == await instance_ids(emu, before["lab-arm-01"] or "")
    assert now["lab-arm-03"] == before["lab-arm-03"]
