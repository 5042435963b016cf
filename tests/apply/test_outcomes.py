"""What apply reports and how it exits: blocked devices in the ledger, immediate without a
healthy wait, the error rate judged at the end of a small rollout, auto-promotion."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.apply import record as rec
from tests.apply.helpers import deployments, make, run, write_project
from tests.harness import Harness, example_fleet, instance_content

pytestmark = pytest.mark.anyio
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


async def test_blocked_devices_are_in_the_ledger_and_bad_content_fails_the_run(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[]))  # amr-spare-01: never enrolled
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("fleet",),
        extra={
            "overrides": [
                {"devices": ["amr-west-03"], "configs": {"motion-control": {"values": {"max_speed": 9}}}}
            ]
        },
    )
    plan = await make(root)
    result = await run(root, plan)
    by = {e.device: e for e in result.ledger}
    assert (by["amr-west-03"].action, by["amr-west-03"].state) == ("blocked", "not_attempted")
    assert by["amr-west-03"].reason_code == "content-invalid" and "max_speed" in by["amr-west-03"].reason
    assert (by["amr-spare-01"].state, by["amr-spare-01"].reason_code) == ("not_attempted", "not-enrolled")
    assert sum(1 for e in result.ledger if e.state == "succeeded") == 13
    assert result.exit_code == 1  # a device the manifests asked to change was not changed
    assert all("amr-west-03" not in d.description for d in await deployments(emu))


async def test_a_device_with_no_agent_does_not_fail_the_run(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("fleet",))
    result = await run(root, await make(root))
    assert [e.device for e in result.ledger if e.action == "blocked"] == ["amr-spare-01"]
    assert result.exit_code == 0


async def test_immediate_does_not_wait_for_min_healthy_time(emu: Harness, tmp_path: Path) -> None:
    """The health check is ignored for immediate: a device is done once deployed."""
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    plan = await make(root)
    # The plan shows the effective spec: no healthy wait for immediate.
    assert plan.rollouts["all"].spec.health_check.min_healthy_time == 0
    before = (await emu.admin.get("/_emulator/clock")).json()
    result = await run(root, plan)
    after = (await emu.admin.get("/_emulator/clock")).json()
    assert result.exit_code == 0 and {e.state for e in result.ledger} == {"succeeded"}
    assert after["epoch"] - before["epoch"] < 30, (before, after)  # emulator seconds
    (record,) = result.records
    saved = rec.load(root, record.id)
    assert saved is not None and saved.spec.health_check.min_healthy_time == 0


async def test_auto_promote_continues_after_healthy_canaries(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={
            "strategy": "canary",
            "canary_percent": 34,
            "auto_promote": True,
            "max_parallel": 1,
            "health_check": HEALTH,
        },
    )
    result = await run(root, await make(root))
    (record,) = result.records
    assert record.status.state == "completed" and record.status.canary_promoted
    assert record.status.canary_nodes == ("lab-arm-01", "lab-arm-02")  # ceil(3 * 34%)
    assert record.status.current_wave == 2 and record.status.total_waves == 2
    assert {e.device: (e.state, e.wave) for e in result.ledger} == {
        "lab-arm-01": ("succeeded", 1),
        "lab-arm-02": ("succeeded", 1),
        "lab-arm-03": ("succeeded", 2),
    }


async def test_error_rate_is_judged_when_a_small_rollout_ends(emu: Harness, tmp_path: Path) -> None:
    """3 devices can never reach the 10-device sample for max_error_rate 0.1; the rate is
    judged once all have finished, and crossing it rolls the healthy ones back."""
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={
            "strategy": "rolling",
            "max_parallel": 3,
            "max_failed_nodes": 10,
            "max_failed_nodes_percent": 100,
            "health_check": {**HEALTH, "max_error_rate": 0.1},
        },
    )
    await emu.patch_device("lab-arm-03", agent={"behaviour": "fail"})
    result = await run(root, await make(root))
    assert {e.device: e.state for e in result.ledger} == {
        "lab-arm-01": "rolled_back",
        "lab-arm-02": "rolled_back",
        "lab-arm-03": "failed",
    }
    assert "max_error_rate" in result.records[0].status.message
    assert result.exit_code == 1


async def test_a_newer_plan_cancels_a_paused_rollout_of_the_same_set(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    canary = {"strategy": "canary", "canary_count": 1, "health_check": HEALTH}
    root = write_project(tmp_path / "p", emu, groups=("lab",), rollout=canary)
    other = write_project(tmp_path / "p", emu, groups=("fleet",), name="amrs")  # another set: untouched
    first = await run(root, await make(root))
    paused = {r.deployment_set: r for r in first.records}
    assert paused["all"].status.state == "paused" and paused["amrs"].status.state == "completed"
    write_project(other, emu, groups=("lab",), rollout=canary, max_speed=1.3)
    second = await run(root, await make(root))
    assert second.records[0].status.state == "paused"
    old = rec.load(root, paused["all"].id)
    assert old is not None and old.status.state == "canceled" and old.status.completed_at
    assert second.records[0].id in old.status.message and "it was paused" in old.status.message
    amrs = rec.load(root, paused["amrs"].id)
    assert amrs is not None and amrs.status.state == "completed"
    assert [r.id for r in rec.list_records(root) if r.status.state == "paused"] == [second.records[0].id]


async def test_a_canary_upgraded_by_hand_since_the_plan_is_stale_and_proves_nothing(
    emu: Harness, tmp_path: Path
) -> None:
    """The platform refuses to stage the plan's release on a device already running it
    (422, before it looks at parent_id): that device changed since the plan, so it is
    stale, not failed; and with no healthy canary even auto_promote waits for a person."""
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_count": 1, "auto_promote": True, "health_check": HEALTH},
    )
    plan = await make(root)
    sdk = emu.sdk()
    cur = await sdk.deployments.retrieve(plan.changes[0].parent_token or "", expand=["config_instances"])
    v142 = (await sdk.releases.list(version=["v1.4.2"])).data[0].id  # someone upgrades lab-arm-01 by hand
    new = next(i for i in plan.instances if not i.existing_id)  # motion-control v2
    inst = await sdk.config_instances.create(
        config_schema_id=new.config_schema_id,
        slot_key=new.slot_key,
        content=instance_content(new.format, new.data),
    )
    keep = [c.id for c in cur.config_instances or [] if "motion" not in c.filepath]
    staged = await sdk.deployments.create(
        device_id=cur.device_id,
        release_id=v142,
        description="by hand",
        config_instance_ids=[*keep, inst.id],
        target_status="staged",
    )
    await sdk.deployments.deploy(staged.id)
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert states == {"lab-arm-01": "stale", "lab-arm-02": "not_attempted", "lab-arm-03": "not_attempted"}
    reason = next(e.reason for e in result.ledger if e.device == "lab-arm-01")
    assert (
        reason.startswith("changed since the plan: now on release v1.4.2, deployment ")
        and "HTTP" not in reason
    )
    (record,) = result.records
    assert record.status.state == "paused" and "no canary became healthy" in record.status.message
    assert result.exit_code == 1  # the stale device needs a look
    assert not [d for d in await deployments(emu) if d.description.startswith("reconcile ")]


async def test_offline_canaries_do_not_auto_promote(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=["lab-arm-01"]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "canary", "canary_count": 1, "auto_promote": True, "health_check": HEALTH},
    )
    plan = await make(root)
    first = await run(root, plan)
    assert {e.device: e.state for e in first.ledger} == {
        "lab-arm-01": "deferred",
        "lab-arm-02": "not_attempted",
        "lab-arm-03": "not_attempted",
    }
    assert first.records[0].status.state == "paused" and first.exit_code == 0
    promoted = await run(root, plan, promote=True)  # a person decides to go on without the evidence
    assert {e.device: e.state for e in promoted.ledger} == {
        "lab-arm-01": "deferred",
        "lab-arm-02": "succeeded",
        "lab-arm-03": "succeeded",
    }
    assert promoted.records[0].status.state == "completed"


async def test_a_set_made_only_of_canaries_completes_without_a_pause(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "canary", "canary_count": 5, "health_check": HEALTH},
    )
    result = await run(root, await make(root))
    (record,) = result.records
    assert record.status.state == "completed" and record.status.canary_nodes == (
        "lab-arm-01",
        "lab-arm-02",
        "lab-arm-03",
    )
    assert {e.state for e in result.ledger} == {"succeeded"} and result.exit_code == 0


async def test_a_deployment_that_missed_its_deadline_while_queued_never_lands_behind_the_ledger(
    emu: Harness, tmp_path: Path
) -> None:
    """The budget is not crossed, so the rollout completes; the device that missed its deadline
    still has its deployment queued. It is rolled back on its own, so what the ledger calls
    failed does not go live later, unwatched."""
    await emu.seed(example_fleet(offline=[]))
    await emu.patch_device("lab-arm-02", agent={"delay": 100})  # slower than the 30 s deadline
    rollout = {
        "strategy": "rolling",
        "max_parallel": 3,
        "max_failed_nodes": 5,
        "max_failed_nodes_percent": 100,
        "health_check": {**HEALTH, "max_error_rate": 1},
    }
    root = write_project(tmp_path / "p", emu, groups=("lab",), rollout=rollout)
    result = await run(root, await make(root))
    late = next(e for e in result.ledger if e.device == "lab-arm-02")
    assert late.state in ("rollback_issued", "rolled_back") and late.rollback_deployment_id
    assert late.state == "rolled_back" or "missed its deadline while queued" in late.reason
    ours = late.deployment_id
    await emu.tick(300)  # long after the agent would have applied the late deployment
    sdk = emu.sdk()
    assert (await sdk.deployments.retrieve(ours or "")).activity_status != "deployed"
    rollback = await sdk.deployments.retrieve(late.rollback_deployment_id or "")
    assert rollback.activity_status == "deployed"
