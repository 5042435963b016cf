"""Renderers and the JSON schema: text grouping and summary line, markdown's 65,536
character bound (20,000 distinct changes with long blocked reasons; the 20,000-device fleet
planned against the emulator is in test_scale.py), `Plan.to_dict` valid against
schemas/plan.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.model.enums import Action, BlockReason, DiffOp
from reconciler.model.live import LiveState
from reconciler.model.plan import ConfigDiff, DeviceChange, Plan, PlannedInstance
from reconciler.model.project import ConfigSpec, Override, Selector
from reconciler.model.rollout import RolloutPlan, RolloutSpec
from reconciler.plan import desired as D
from reconciler.plan.build import plan_from
from reconciler.plan.render_markdown import LIMIT, render_markdown
from reconciler.plan.render_text import render_text
from tests.plan.livebuild import Fleet, dset, project

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())


def example_plan() -> Plan:
    f = Fleet()
    for i in range(1, 9):
        f.device(f"amr-east-{i:02d}", status="offline" if i == 7 else "online")
    f.device("amr-spare-01", status="inactive", release=None)
    f.device("lab-arm-01", group="g_lab")
    ov = (
        Override(
            Selector(devices=("amr-east-01", "amr-east-02")),
            configs=(ConfigSpec("motion-control", values={"max_speed": 0.8}),),
        ),
    )
    live = f.state()
    desired = D.resolve(
        project(
            dset(mc_values={"max_speed": 1.2}, overrides=ov),
            dset("lab-canary", groups=("lab",), release="v1.4.2"),
        ),
        live,
    )
    return plan_from(
        desired,
        live,
        diagnostics={"dv_amr-spare-01": ("last enrollment attempt x: error",)},
        target="emulator:.reconcile/emulator.db",
    )


def test_text_groups_identical_changes_and_lists_exceptions() -> None:
    text = render_text(example_plan())
    assert (
        "~ deploy 6 devices: amr-east-03, amr-east-04, amr-east-05, amr-east-06, amr-east-07, ... (+1 more)"
        in text
    )
    assert "      motion-control.max_speed: 1.0 -> 1.2" in text
    assert "~ deploy 2 devices: amr-east-01, amr-east-02" in text
    assert "offline, will queue: amr-east-07" in text
    assert "^ upgrade 1 device: lab-arm-01" in text and "release: v1.4.1 -> v1.4.2" in text
    assert "! amr-spare-01 (warehouse-amrs): blocked: device was never enrolled" in text
    assert "| last enrollment attempt x: error" in text
    assert text.rstrip().splitlines()[-1] == (
        "Plan: 8 to deploy, 1 to upgrade, 0 to stage, 0 to restage, 3 config instances to create. "
        "0 unchanged, 1 blocked."
    )


def test_plan_json_validates_against_schema_and_round_trips() -> None:
    plan = example_plan()
    data = json.loads(json.dumps(plan.to_dict()))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(data, SCHEMA)
    assert Plan.from_dict(data) == plan
    bad = {**data, "summary": {**data["summary"], "deploy": -1}}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))


def test_markdown_small_plan_is_complete() -> None:
    md = render_markdown(example_plan())
    assert "Cut to fit" not in md
    assert "<details>" in md and "amr-spare-01" in md and "`motion-control.max_speed: 1.0 -> 1.2`" in md


def big_plan(n: int = 20_000) -> Plan:
    # 20,000 devices, each with its own change: the worst case for grouping.
    changes = tuple(
        DeviceChange(
            device=f"amr-{i:05d}-with-a-rather-long-name",
            device_id=f"dv_{i}",
            action=Action.DEPLOY,
            deployment_set=f"set-{i % 7}",
            release_from="v1.4.1",
            release_to="v1.4.1",
            config_diffs=(
                ConfigDiff(
                    DiffOp.CHANGE, ("motion-control", "default", "max_speed"), 1.0, round(i / 10000, 4)
                ),
                ConfigDiff(DiffOp.ADD, ("motion-control", "default", "zones", i % 50), None, "x" * 80),
            ),
            reason=None,
        )
        for i in range(n)
    )
    blocked = tuple(
        DeviceChange(
            device=f"spare-{i}",
            device_id=None,
            action=Action.BLOCKED,
            deployment_set="set-0",
            reason="device unknown " * 10,
            reason_code=BlockReason.DEVICE_UNKNOWN,
        )
        for i in range(2000)
    )
    return Plan(
        changes=changes + blocked,
        instances=(PlannedInstance("0" * 64, "motion-control", "cs", "default", "json", "{}"),),
        rollouts={f"set-{i}": RolloutPlan(spec=RolloutSpec()) for i in range(7)},
    )


def test_markdown_bound_with_long_blocked_reasons() -> None:
    md = render_markdown(big_plan(), full_plan="the workflow artifact `reconcile-plan`")
    assert len(md) <= LIMIT
    assert "Plan: 20000 to deploy" in md
    assert "Blocked: device-unknown 2000" in md
    assert "Cut to fit one comment:" in md and "change groups" in md
    assert "The full plan is in the workflow artifact `reconcile-plan`." in md
    assert md.count("<details>") == md.count("</details>")


def test_markdown_bound_holds_for_a_small_limit() -> None:
    md = render_markdown(big_plan(500), limit=5000)
    assert len(md) <= 5000 and "Cut to fit" in md


def test_empty_plan_says_no_changes() -> None:
    plan = plan_from(D.Desired(devices=()), LiveState({}, {}, {}, {}, {}, {}, {}))
    assert "No changes" in render_text(plan)
    assert "No changes" in render_markdown(plan)


def test_markdown_bound_with_thousands_of_deployment_sets() -> None:
    plan = big_plan(3000)
    many = Plan(
        changes=plan.changes,
        instances=plan.instances,
        rollouts={f"site-{i:04d}-deploymentset": RolloutPlan(spec=RolloutSpec()) for i in range(3000)},
    )
    md = render_markdown(many)
    assert len(md) <= LIMIT
    rollouts = next(line for line in md.splitlines() if line.startswith("Rollouts: "))
    assert rollouts.startswith("Rollouts: site-0000-deploymentset: immediate; site-0001-deploymentset")
    assert rollouts.endswith(" more DeploymentSets)") and len(rollouts) < 2100


def test_markdown_bound_counts_utf16_units_as_github_does() -> None:
    base = big_plan(400)
    emoji = tuple(
        DeviceChange(
            **{**c.__dict__, "config_diffs": (ConfigDiff(DiffOp.CHANGE, ("notes",), "🤖" * 20, f"🚚{i}"),)}
        )
        for i, c in enumerate(base.changes)
    )
    md = render_markdown(Plan(changes=emoji, rollouts=base.rollouts), limit=5000)
    assert len(md.encode("utf-16-le")) // 2 <= 5000 and "Cut to fit" in md


def test_markdown_html_blocks_end_with_a_blank_line() -> None:
    # GitHub ends an HTML block only at a blank line: `</details>` followed directly by a
    # heading renders the heading as literal text.
    from reconciler.model.plan import DeviceChange, Plan
    from reconciler.plan.render_markdown import render_markdown

    plan = Plan(
        changes=(
            DeviceChange(
                device="a",
                device_id="d1",
                action=Action.DEPLOY,
                deployment_set="s",
                release_from="v1",
                release_to="v1",
                config_diffs=(),
            ),
            DeviceChange(
                device="b",
                device_id="d2",
                action=Action.BLOCKED,
                deployment_set="s",
                reason="device was never enrolled",
            ),
        )
    )
    lines = render_markdown(plan).splitlines()
    closes = [i for i, line in enumerate(lines) if line == "</details>"]
    assert len(closes) == 2
    for i in closes:
        assert i + 1 == len(lines) or lines[i + 1] == "", lines[i : i + 2]
