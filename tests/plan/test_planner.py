"""The pure planner (`resolve` + `plan_from`) over hand-built live state: every action,
every blocked reason, content addressing, selection, origins."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.model.enums import BlockReason, DiffOp
from reconciler.model.plan import ConfigDiff, DeviceChange, Plan
from reconciler.model.project import ConfigSpec, DeploymentSet, Override, Selector
from reconciler.plan import desired as D
from reconciler.plan.build import mark_origin, plan_from
from reconciler.plan.diff import describe
from reconciler.plan.render_text import render_text
from tests.plan.livebuild import MC, Fleet, dset, loc, project


def plan_for(fleet: Fleet, *sets: DeploymentSet) -> tuple[Plan, D.Desired]:
    live = fleet.state()
    desired = D.resolve(project(*sets), live)
    assert not desired.problems, desired.problems
    return plan_from(desired, live), desired


def by_device(plan: Plan) -> dict[str, DeviceChange]:
    return {c.device: c for c in plan.changes}


def test_noop_when_live_matches() -> None:
    f = Fleet()
    f.device("amr-east-01")
    plan, _ = plan_for(f, dset())
    (c,) = plan.changes
    assert c.action == "noop" and c.config_diffs == () and c.reason is None
    assert not plan.has_changes
    assert plan.summary()["noop"] == 1 and plan.instances == ()


def test_deploy_with_field_diff_and_parent_token() -> None:
    f = Fleet()
    dev = f.device("amr-east-01")
    plan, _ = plan_for(f, dset(mc_values={"max_speed": 1.2}))
    (c,) = plan.changes
    assert c.action == "deploy"
    assert c.parent_token == dev.current_deployment_id
    assert c.config_diffs == (
        ConfigDiff(DiffOp.CHANGE, ("motion-control", "default", "max_speed"), 1.0, 1.2),
    )
    assert [describe(d) for d in c.config_diffs] == ["motion-control.max_speed: 1.0 -> 1.2"]
    # one new instance (motion-control); localization and notes reused
    created = [i for i in plan.instances if i.existing_id is None]
    assert [i.config_type for i in created] == ["motion-control"]
    assert {i.config_type for i in plan.instances if i.existing_id} == {"localization", "operator-notes"}
    assert plan.summary()["instances_to_create"] == 1


def test_added_removed_keys_and_list_changes() -> None:
    f = Fleet()
    f.device("amr-east-01")
    plan, _ = plan_for(
        f, dset(mc_values={"safety": {"lidar_zones": ["front"], "estop_timeout_ms": None, "mode": "strict"}})
    )
    (c,) = plan.changes
    assert c.action == "deploy"
    got = {(d.op, d.path) for d in c.config_diffs}
    assert got == {
        ("remove", ("motion-control", "default", "safety", "estop_timeout_ms")),
        ("remove", ("motion-control", "default", "safety", "lidar_zones", 1)),
        ("add", ("motion-control", "default", "safety", "mode")),
    }
    assert sorted(describe(d) for d in c.config_diffs) == [
        '+ motion-control.safety.mode: "strict"',
        "- motion-control.safety.estop_timeout_ms: 200",
        '- motion-control.safety.lidar_zones[1]: "rear"',
    ]


def test_first_deployment_is_deploy_without_parent() -> None:
    f = Fleet()
    f.device("amr-east-01", release=None)
    plan, _ = plan_for(f, dset())
    (c,) = plan.changes
    assert c.action == "deploy" and c.parent_token is None and c.release_from is None
    assert len(plan.instances) == 3 and all(i.existing_id is None for i in plan.instances)


def test_upgrade_archives_staged() -> None:
    f = Fleet()
    dev = f.device("lab-arm-01", group="g_lab")
    staged = f.deployment(dev.id, "rl_142", "staged", "staged", description="someone")
    plan, _ = plan_for(
        f,
        dset("lab-canary", groups=("lab",), release="v1.4.2", mc_values={"docking": {"approach_speed": 0.3}}),
    )
    (c,) = plan.changes
    assert c.action == "upgrade" and c.release_from == "v1.4.1" and c.release_to == "v1.4.2"
    assert c.release_to_id == "rl_142" and c.archive_ids == (staged,)
    assert (
        ConfigDiff(DiffOp.ADD, ("motion-control", "default", "docking"), None, {"approach_speed": 0.3})
        in c.config_diffs
    )
    assert "      replaces the device's staged deployment (archived)" in render_text(plan).splitlines()


def test_stage_restage_and_already_staged() -> None:
    f = Fleet()
    a = f.device("lab-arm-01", group="g_lab")
    b = f.device("lab-arm-02", group="g_lab")
    f.device("lab-arm-03", group="g_lab")
    old = f.deployment(a.id, "rl_142", "staged", "staged", mc={**MC, "max_speed": 2.0})
    same = f.deployment(b.id, "rl_142", "staged", "staged")
    plan, _ = plan_for(f, dset("lab", groups=("lab",), release="v1.4.2", activation="stage"))
    got = by_device(plan)
    assert got["lab-arm-01"].action == "restage" and got["lab-arm-01"].archive_ids == (old,)
    assert got["lab-arm-02"].action == "noop" and same in (got["lab-arm-02"].reason or "")
    assert got["lab-arm-03"].action == "stage"
    s = plan.summary()
    assert (s["stage"], s["restage"], s["noop"]) == (1, 1, 1)


def test_drifted_deployment_by_someone_else_needs_review_ours_is_restaged() -> None:
    f = Fleet()
    a = f.device("lab-arm-01", group="g_lab")
    b = f.device("lab-arm-02", group="g_lab")
    f.deployment(a.id, "rl_142", "staged", "drifted", description="staged in the dashboard")
    ours = f.deployment(
        b.id, "rl_142", "staged", "drifted", description="reconcile commit=abc set=lab rollout=r1"
    )
    plan, _ = plan_for(f, dset("lab", groups=("lab",), release="v1.4.2", activation="stage"))
    got = by_device(plan)
    assert got["lab-arm-01"].action == "blocked"
    assert got["lab-arm-01"].reason_code == BlockReason.DRIFT_REVIEW
    assert "drifted" in (got["lab-arm-01"].reason or "")
    assert got["lab-arm-02"].action == "restage" and got["lab-arm-02"].archive_ids == (ours,)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("archived", BlockReason.DEVICE_ARCHIVED),
        ("inactive", BlockReason.NOT_ENROLLED),
        ("activating", BlockReason.NOT_ENROLLED),
    ],
)
def test_device_status_blocks(status: str, code: str) -> None:
    f = Fleet()
    f.device("amr-east-01", status=status, release=None)
    plan, _ = plan_for(f, dset())
    (c,) = plan.changes
    assert c.action == "blocked" and c.reason_code == code and c.reason


def test_offline_is_planned_and_marked() -> None:
    f = Fleet()
    f.device("amr-east-07", status="offline")
    plan, _ = plan_for(f, dset(mc_values={"max_speed": 1.2}))
    (c,) = plan.changes
    assert c.action == "deploy" and c.offline


def test_release_unknown() -> None:
    f = Fleet()
    f.device("amr-east-01")
    plan, desired = plan_for(f, dset(release="v9.9.9"))
    (c,) = plan.changes
    assert c.reason_code == BlockReason.RELEASE_UNKNOWN and "v9.9.9" in (c.reason or "")
    assert str(desired.findings[0].location) == "deploymentsets/warehouse.yaml:8:3"


def test_config_type_unknown_and_not_in_release() -> None:
    f = Fleet()
    f.device("amr-east-01")
    ds = dset()
    ds1 = dataclasses.replace(ds, configs=(*ds.configs, ConfigSpec("lidar", base={"a": 1}, location=loc(20))))
    plan, _desired = plan_for(f, ds1)
    assert plan.changes[0].reason_code == BlockReason.CONFIG_TYPE_UNKNOWN
    assert "does not exist on the platform" in (plan.changes[0].reason or "")
    ds2 = dataclasses.replace(
        ds, configs=(*ds.configs, ConfigSpec("camera", base={"a": 1}, location=loc(20)))
    )
    plan, _ = plan_for(f, ds2)
    assert "has no config schema for config type 'camera'" in (plan.changes[0].reason or "")


def test_required_slot_missing() -> None:
    f = Fleet()
    f.device("amr-east-01")
    ds = dset()
    plan, _desired = plan_for(f, dataclasses.replace(ds, configs=ds.configs[:1]))
    (c,) = plan.changes
    assert c.reason_code == BlockReason.SLOT_MISSING and "localization" in (c.reason or "")


def test_content_invalid_names_file_line_and_json_path() -> None:
    f = Fleet()
    f.device("amr-east-01")
    plan, desired = plan_for(f, dset(mc_values={"max_speed": 5}))
    (c,) = plan.changes
    assert c.action == "blocked" and c.reason_code == BlockReason.CONTENT_INVALID
    (problem,) = desired.findings
    assert problem.location.json_path == "$.max_speed"
    assert str(problem.location) == "deploymentsets/warehouse.yaml:10:3"  # the inline values' spec
    assert "5 is greater than the maximum of 3" in problem.message


def test_content_invalid_in_file_points_into_file() -> None:
    f = Fleet()
    f.device("amr-east-01")
    ds = dset()
    bad = dataclasses.replace(ds.configs[0], base={**MC, "max_speed": 7})
    _plan, desired = plan_for(f, dataclasses.replace(ds, configs=(bad, *ds.configs[1:])))
    (problem,) = desired.findings
    assert str(problem.location) == "configs/motion-control.json:2:16"


def test_device_unknown_when_named() -> None:
    f = Fleet()
    f.device("amr-east-01")
    plan, _ = plan_for(f, dset(groups=(), devices=("amr-east-01", "amr-ghost-99")))
    got = by_device(plan)
    assert got["amr-ghost-99"].action == "blocked"
    assert got["amr-ghost-99"].reason_code == BlockReason.DEVICE_UNKNOWN
    assert got["amr-ghost-99"].device_id is None


def test_selection_subgroups_patterns_exclusions() -> None:
    f = Fleet()
    for n in ("amr-east-01", "amr-east-02", "amr-east-03"):
        f.device(n, group="g_east")
    f.device("amr-west-01", group="g_west")
    f.device("lab-arm-01", group="g_lab")
    f.device("lab-arm-02", group="g_lab")
    plan, _ = plan_for(
        f,
        dset(
            groups=("fleet",),
            exclude_devices=("amr-east-02",),
            patterns=("lab-arm-0[2]",),
            exclude_patterns=("*-03",),
        ),
    )
    assert [c.device for c in plan.changes] == ["amr-east-01", "amr-west-01", "lab-arm-02"]
    plan, _ = plan_for(f, dset(groups=("fleet",), exclude_groups=("warehouse-west",)))
    assert [c.device for c in plan.changes] == ["amr-east-01", "amr-east-02", "amr-east-03"]


def test_overrides_merge_and_change_release() -> None:
    f = Fleet()
    for n in ("amr-east-01", "amr-east-02", "amr-east-03"):
        f.device(n)
    ov = (
        Override(
            Selector(devices=("amr-east-01",)),
            configs=(ConfigSpec("motion-control", values={"max_speed": 0.8}, location=loc(30)),),
        ),
        Override(Selector(devices=("amr-east-02",)), release="v1.4.2", location=loc(40)),
    )
    plan, _ = plan_for(f, dset(mc_values={"max_speed": 1.2}, overrides=ov))
    got = by_device(plan)
    assert got["amr-east-01"].config_diffs == (
        ConfigDiff(DiffOp.CHANGE, ("motion-control", "default", "max_speed"), 1.0, 0.8),
    )
    assert got["amr-east-02"].action == "upgrade"
    assert got["amr-east-03"].config_diffs == (
        ConfigDiff(DiffOp.CHANGE, ("motion-control", "default", "max_speed"), 1.0, 1.2),
    )


def test_device_in_two_sets_and_unknown_group_are_problems() -> None:
    f = Fleet()
    f.device("amr-east-01")
    desired = D.resolve(
        project(dset("a"), dset("b", groups=("warehouse-east",)), dset("c", groups=("nope",))), f.state()
    )
    messages = [p.message for p in desired.problems]
    assert any("matched by DeploymentSets 'a'" in m for m in messages)
    assert any("group 'nope' does not exist" in m for m in messages)


def test_validation_runs_once_per_distinct_content() -> None:
    f = Fleet()
    for i in range(50):
        f.device(f"amr-east-{i:02d}")
    ov = (
        Override(
            Selector(patterns=("amr-east-0*",)),
            configs=(ConfigSpec("motion-control", values={"max_speed": 0.8}),),
        ),
    )
    _, desired = plan_for(f, dset(mc_values={"max_speed": 1.2}, overrides=ov))
    # two distinct motion-control contents + one localization (notes are opaque: not checked)
    assert desired.validations == 3
    assert any("operator-notes: opaque schema, content not checked" in n for n in desired.notes)


def test_content_address_reuse_across_devices_and_existing() -> None:
    f = Fleet()
    for i in range(10):
        f.device(f"amr-east-{i:02d}")
    plan, _desired = plan_for(f, dset(mc_values={"max_speed": 1.2}))
    assert len(plan.instances) == 3  # one per slot, shared by ten devices
    keys = {c.instance_keys for c in plan.changes}
    assert len(keys) == 1
    # once an identical instance exists on the platform, it is reused, not created
    new = next(i for i in plan.instances if i.existing_id is None)
    f.instance(new.config_schema_id, {**MC, "max_speed": 1.2})
    plan2, _ = plan_for(f, dset(mc_values={"max_speed": 1.2}))
    assert all(i.existing_id for i in plan2.instances)
    assert plan2.summary()["instances_to_create"] == 0


def test_origin_change_vs_drift() -> None:
    f = Fleet()
    f.device("amr-east-01")
    f.device("amr-east-02", mc={**MC, "max_speed": 2.0})  # edited in the dashboard
    live = f.state()
    head = D.resolve(
        project(
            dset(
                overrides=(
                    Override(
                        Selector(devices=("amr-east-01",)),
                        configs=(ConfigSpec("motion-control", values={"max_speed": 0.8}),),
                    ),
                )
            )
        ),
        live,
    )
    base = D.resolve(project(dset()), live)
    plan = mark_origin(plan_from(head, live), head, base)
    got = by_device(plan)
    assert got["amr-east-01"].origin == "change"
    assert got["amr-east-02"].origin == "drift"
