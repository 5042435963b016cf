"""Devices planned while the deployments are read (`plan/ahead.py`): the plan is exactly the
one made after the read, a device is planned again when more of its deployments arrive, and
nothing planned early is kept when the releases or instances read after the deployments
differ. Pure: hand-built states, no platform."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.model.enums import ActivityStatus, DeviceStatus, ErrorStatus, TargetStatus
from reconciler.model.live import LiveDeployment, LiveDevice, LiveInstance, LiveRelease, LiveState
from reconciler.plan import ahead as ahead_module
from reconciler.plan import desired as D
from reconciler.plan.ahead import Ahead
from reconciler.plan.build import plan_from

OLD = LiveRelease("rel-old", "v1.0.0", ())
NEW = LiveRelease("rel-new", "v2.0.0", ())
DEVICES = {
    name: LiveDevice(f"dev-{name}", name, DeviceStatus.ONLINE, "grp", OLD.id, OLD.version)
    for name in ("a", "b", "c", "d")
}


def _dep(dep_id: str, device: str, target: TargetStatus, release: LiveRelease = OLD) -> LiveDeployment:
    return LiveDeployment(
        id=dep_id,
        device_id=DEVICES[device].id,
        release_id=release.id,
        target_status=target,
        activity_status=ActivityStatus.DEPLOYED if target is TargetStatus.DEPLOYED else ActivityStatus.STAGED,
        error_status=ErrorStatus.NONE,
        status="deployed",
        description="by hand",
        instance_ids=(),
        created_at="2026-11-01T00:00:00Z",
    )


PAGE_1 = [_dep("dep-1", "a", TargetStatus.DEPLOYED), _dep("dep-2", "b", TargetStatus.DEPLOYED)]
# b's staged deployment and d's only one come in a later page.
PAGE_2 = [_dep("dep-3", "b", TargetStatus.STAGED, NEW), _dep("dep-4", "d", TargetStatus.DEPLOYED)]
CATALOG = LiveState(
    devices=DEVICES,
    groups={},
    config_types={},
    releases={OLD.id: OLD, NEW.id: NEW},
    schemas={},
    deployments={},
    instances={},
)
# a, b and d move to v2.0.0 (b has it staged); c has no deployment at all.
DESIRED = D.Desired(
    devices=tuple(
        D.DesiredDevice(name, DEVICES[name], "fleet", "deploy", NEW.version, NEW)
        for name in ("a", "b", "c", "d")
    )
)


def _final(
    releases: dict[str, LiveRelease] | None = None, instances: dict[str, LiveInstance] | None = None
) -> LiveState:
    deps = {d.id: d for d in PAGE_1 + PAGE_2}
    by_device: dict[str, tuple[str, ...]] = {}
    for d in deps.values():
        by_device[d.device_id] = (*by_device.get(d.device_id, ()), d.id)
    final = replace(CATALOG, deployments=deps, by_device=by_device)
    if releases is not None:
        final = replace(final, releases=releases)
    return replace(final, instances=instances) if instances is not None else final


def _ahead(plan_after_page_2: bool) -> Ahead:
    ahead = Ahead(CATALOG)
    ahead.add(PAGE_1, 0)
    ahead.start(DESIRED)
    ahead.plan(100)
    ahead.add(PAGE_2, 2)
    if plan_after_page_2:
        ahead.plan(100)
    return ahead


def test_the_plan_is_the_one_made_after_the_read() -> None:
    live = _final()
    after = plan_from(DESIRED, live)
    for again in (False, True):
        ahead = _ahead(again)
        early = ahead.reuse(live)
        assert early is not None
        assert plan_from(DESIRED, live, early=early) == after
        # a only, or a, b (planned again with its staged deployment) and d; never c.
        assert ahead.reused == (3 if again else 1)
    assert [c.action.value for c in after.changes] == ["upgrade", "upgrade", "upgrade", "upgrade"]
    assert after.changes[1].archive_ids == ("dep-3",)  # b's staged one: known to the plan


def test_pages_out_of_order_keep_a_device_s_deployments_in_list_order() -> None:
    """b's staged deployment (place 2) comes before its deployed one (place 1): planned with
    both in the final state's order, the early change is kept."""
    live = _final()
    ahead = Ahead(CATALOG)
    ahead.add(PAGE_2, 2)
    ahead.add(PAGE_1, 0)
    ahead.start(DESIRED)
    ahead.plan(100)
    early = ahead.reuse(live)
    assert early is not None
    assert plan_from(DESIRED, live, early=early) == plan_from(DESIRED, live)
    assert ahead.reused == 3  # a, b and d


def test_a_release_or_an_instance_read_after_the_deployments_discards_the_early_plans() -> None:
    ahead = _ahead(True)
    later = LiveRelease("rel-x", "v0.9.0", ())
    instance = LiveInstance("inst-1", "schema-1", "type-1", "motion")
    assert ahead.reuse(_final(releases={**CATALOG.releases, later.id: later})) is None
    assert ahead.reuse(_final(instances={instance.id: instance})) is None
    assert ahead.reuse(_final()) is not None


def test_nothing_early_before_the_manifests_are_resolved() -> None:
    ahead = Ahead(CATALOG)
    ahead.add(PAGE_1, 0)
    ahead.plan(100)  # not started: nothing to plan against
    assert ahead.waiting == 0 and ahead.reuse(_final()) is None


def test_a_backlog_past_the_limit_stops_planning_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ahead_module, "BACKLOG", 1)
    ahead = Ahead(CATALOG)
    ahead.add(PAGE_1, 0)  # two devices waiting: past the limit
    ahead.start(DESIRED)
    ahead.plan(100)
    ahead.add(PAGE_2, 2)
    assert ahead.gave_up and ahead.waiting == 0 and ahead.reuse(_final()) is None
    assert plan_from(DESIRED, _final()).changes[0].action.value == "upgrade"
