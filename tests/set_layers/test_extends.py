"""Layered DeploymentSets against the emulator: a base for the whole fleet and two site layers
(`extends: fleet-base`). A value a site writes wins for its devices, the plan says per value
which set it came from (text, markdown, JSON), each site's rollout governs its devices, apply
lands exactly that, and removing a site falls back to the base."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.model.plan import Plan
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from tests.apply.helpers import config_instances, make, run
from tests.harness import Harness, example_fleet
from tests.set_layers.layered import BASE, EAST, WEST, layered, write

REPO = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
pytestmark = pytest.mark.anyio


def _by_device(plan: Plan) -> dict[str, Any]:
    return {c.device: c for c in plan.changes}


def _values(plan: Plan, device: str) -> dict[tuple[str | int, ...], tuple[Any, str | None]]:
    return {
        d.path[2:]: (d.new, d.source.deployment_set if d.source else None)
        for d in _by_device(plan)[device].config_diffs
    }


async def test_site_values_win_and_each_says_where_it_came_from(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    plan = await make(layered(tmp_path / "p", emu))
    got = _by_device(plan)
    assert {c.deployment_set for n, c in got.items() if n.startswith("amr-east")} == {"site-east"}
    assert {c.deployment_set for n, c in got.items() if n.startswith("amr-west")} == {"site-west"}
    assert {c.deployment_set for n, c in got.items() if n.startswith("lab-arm")} == {"fleet-base"}
    # site-east's max_speed beats the base's; the base's file and override still apply under it
    assert _values(plan, "amr-east-01") == {
        ("max_speed",): (0.8, "site-east"),
        ("safety", "estop_timeout_ms"): (150, "site-east"),
    }
    assert _values(plan, "amr-east-02")[("max_accel",)] == (0.3, "fleet-base")
    # site-west writes a release and one value; max_speed is still the base's
    west = got["amr-west-01"]
    assert (west.action, west.release_to) == ("upgrade", "v1.4.2")
    assert west.release_source.deployment_set == "site-west"
    assert _values(plan, "amr-west-01") == {
        ("max_accel",): (0.4, "site-west"),
        ("max_speed",): (1.2, "fleet-base"),
    }
    # a device of the base alone: one layer, nothing to attribute
    assert _values(plan, "lab-arm-01") == {("max_speed",): (1.2, None)}

    text = render_text(plan)
    assert "motion-control.max_speed: 1.0 -> 0.8 (from site-east)" in text
    assert "motion-control.max_speed: 1.0 -> 1.2 (from fleet-base)" in text
    assert "release: v1.4.1 -> v1.4.2 (from site-west)" in text
    assert "      motion-control.max_speed: 1.0 -> 1.2\n" in text  # the lab devices
    markdown = render_markdown(plan)
    assert "motion-control.max_accel: 0.5 -> 0.3 (from fleet-base)" in markdown

    data = plan.to_dict()
    jsonschema.validate(data, PLAN_SCHEMA)
    (east1,) = [c for c in data["changes"] if c["device"] == "amr-east-01"]
    speed = next(d for d in east1["config_diffs"] if d["path"] == ["motion-control", "default", "max_speed"])
    assert speed["source"]["deployment_set"] == "site-east"
    assert speed["source"]["file"] == "sets/site-east.yaml" and speed["source"]["line"] > 0
    assert Plan.from_dict(data) == plan


async def test_the_most_specific_layer_governs_the_rollout(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    plan = await make(layered(tmp_path / "p", emu))
    east, west, base = (plan.rollouts[n] for n in ("site-east", "site-west", "fleet-base"))
    # site-east: its own max_parallel over the base's strategy; site-west inherits both
    assert (east.spec.strategy, east.spec.options["max_parallel"]) == ("rolling", 2)
    assert (west.spec.strategy, west.spec.options["max_parallel"]) == ("rolling", 4)
    assert [len(w.devices) for w in east.waves] == [2, 2, 2, 2]
    assert {d for w in east.waves for d in w.devices} == {f"amr-east-0{i}" for i in range(1, 9)}
    assert {d for w in west.waves for d in w.devices} == {f"amr-west-0{i}" for i in range(1, 7)}
    assert {d for w in base.waves for d in w.devices} == {"lab-arm-01", "lab-arm-02", "lab-arm-03"}
    text = render_text(plan)
    assert "DeploymentSet site-east (extends fleet-base; rolling, 2 at a time: 8 devices in 4 waves)" in text
    assert "DeploymentSet fleet-base (rolling, 4 at a time: 3 devices in 1 wave)" in text
    assert "site-east: extends fleet-base; rolling" in render_markdown(plan)
    assert plan.to_dict()["layers"] == {"site-east": ["fleet-base"], "site-west": ["fleet-base"]}


async def test_a_chain_of_layers_merges_root_first(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    region = {
        "extends": "fleet-base",
        "selector": {"groups": ["warehouse-east"]},
        "configs": {"motion-control": {"values": {"max_accel": 0.45, "max_speed": 0.9}}},
    }
    site = {
        "extends": "region-east",
        "selector": {"devices": ["amr-east-01", "amr-east-02"]},
        "configs": {"motion-control": {"values": {"max_speed": 0.6}}},
    }
    root = write(tmp_path / "p", emu, {"fleet-base": BASE, "region-east": region, "site-dock": site})
    plan = await make(root)
    assert _values(plan, "amr-east-01") == {
        ("max_accel",): (0.45, "region-east"),
        ("max_speed",): (0.6, "site-dock"),
    }
    # the site's region value beats the base's override: the more specific layer wins
    assert _values(plan, "amr-east-02")[("max_accel",)] == (0.45, "region-east")
    assert _by_device(plan)["amr-east-03"].deployment_set == "region-east"
    assert plan.layers == {"region-east": ("fleet-base",), "site-dock": ("region-east", "fleet-base")}
    assert "DeploymentSet site-dock (extends region-east over fleet-base; rolling" in render_text(plan)


async def test_apply_lands_the_layered_values_and_removing_a_site_falls_back(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = layered(tmp_path / "p", emu)
    result = await run(root, await make(root))
    assert result.exit_code == 0, result
    contents = [json.loads(i.content.data) for i in await config_instances(emu) if i.content.format == "json"]
    assert {"max_speed": 0.8, "max_accel": 0.3} in [
        {k: c[k] for k in ("max_speed", "max_accel")}
        for c in contents
        if c["safety"]["estop_timeout_ms"] == 150
    ]
    assert not (await make(root)).has_changes  # what was planned is what is live

    write(root, emu, {"fleet-base": BASE, "site-west": WEST})  # site-east removed
    plan = await make(root)
    east = _by_device(plan)["amr-east-01"]
    assert (east.deployment_set, east.action) == ("fleet-base", "deploy")
    assert _values(plan, "amr-east-01") == {
        ("max_speed",): (1.2, None),
        ("safety", "estop_timeout_ms"): (200, None),
    }
    assert ("max_accel",) not in _values(plan, "amr-east-02")  # the base's override stays (0.3, live)
    assert {c.action for c in plan.changes if c.deployment_set == "site-west"} == {"noop"}
    assert (await run(root, plan)).exit_code == 0
    assert not (await make(root)).has_changes


async def test_a_layer_naming_a_device_the_platform_lacks_plans_it_as_unknown(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    east = {**EAST, "selector": {"groups": ["warehouse-east"], "devices": ["amr-east-99"]}}
    plan = await make(write(tmp_path / "p", emu, {"fleet-base": BASE, "site-east": east}))
    ghost = _by_device(plan)["amr-east-99"]
    assert (ghost.action, ghost.reason_code, ghost.deployment_set) == (
        "blocked",
        "device-unknown",
        "site-east",
    )


async def test_a_hold_in_the_base_keeps_a_site_device_out(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    base = {**BASE, "overrides": [{"devices": ["amr-east-03"], "hold": True}]}
    plan = await make(write(tmp_path / "p", emu, {"fleet-base": base, "site-east": EAST}))
    held = _by_device(plan)["amr-east-03"]
    assert (held.action, held.deployment_set) == ("blocked", "site-east")
    assert "held by fleet-base's overrides[0]" in (held.reason or "")


def _plan_json(root: Path, *args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "json", *args])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_a_run_narrowed_to_a_set_plans_the_devices_it_owns(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = layered(tmp_path / "p", emu)
    code, data, err = _plan_json(root, "--set", "site-east")
    assert code == 0, err
    assert {c["device"] for c in data["changes"]} == {f"amr-east-0{i}" for i in range(1, 9)}
    assert set(data["rollouts"]) == {"site-east"}
    # the base's override names an east robot, which a run of site-west does not read: no error
    code, data, err = _plan_json(root, "--set", "site-west")
    assert code == 0, err
    assert {c["device"] for c in data["changes"]} == {f"amr-west-0{i}" for i in range(1, 7)}
    code, data, err = _plan_json(root, "--set", "fleet-base")
    assert code == 0, err
    assert {c["device"] for c in data["changes"]} == {"lab-arm-01", "lab-arm-02", "lab-arm-03"}


def test_sets_that_select_a_device_without_extending_each_other_are_an_error(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    other = {**EAST, "selector": {"patterns": ["amr-east-0[12]"]}}
    root = write(tmp_path / "p", emu, {"fleet-base": BASE, "site-east": EAST, "site-other": other})
    code, _, err = _plan_json(root)
    assert code == 1
    assert "each of 2 devices is matched by DeploymentSets 'site-east' (sets/site-east.yaml:" in err
    assert "and 'site-other': 'amr-east-01', 'amr-east-02'" in err
    # without extends, two sets selecting one device stay an error
    plain = {k: v for k, v in EAST.items() if k not in ("extends", "rollout")} | {"release": "v1.4.1"}
    code, _, err = _plan_json(write(root, emu, {"fleet-base": BASE, "east": plain}))
    assert (
        code == 1 and "is matched by DeploymentSets 'east' (sets/east.yaml:" in err and "'fleet-base'" in err
    )


def test_a_layer_cannot_add_devices_its_base_leaves_out(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    base = {**BASE, "selector": {"groups": ["fleet"]}}
    lab = {"extends": "fleet-base", "selector": {"groups": ["lab"]}}
    code, _, err = _plan_json(write(tmp_path / "p", emu, {"fleet-base": base, "site-lab": lab}))
    assert code == 1
    assert (
        "sets/site-lab.yaml:6:12: error: 3 devices are selected by DeploymentSet 'site-lab', which extends"
        in err
    )
    assert "but 'fleet-base' does not select them" in err
