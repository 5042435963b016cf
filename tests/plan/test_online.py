"""`online_problems` / `reconcile validate --online` against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.commands.planning import online_problems
from reconciler.commands.wiring import session
from reconciler.manifests.loader import load_path
from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, write_project


async def problems_of(root: Path) -> list[str]:
    project = load_path(root)
    async with session(project) as wired:
        found = await online_problems(project, wired.platform)
        # names and schemas only: no deployments, no config instances
        assert wired.platform.requests <= 7
    return [p.format_text() for p in found]


@pytest.mark.anyio
async def test_every_platform_problem_is_reported_with_a_location(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    root = write_project(
        tmp_path / "p",
        emu.db,
        {
            "a.yaml": dset("a", selector="groups: [warehouse-east]", motion="values: {max_speed: 9}"),
            "b.yaml": dset("b", selector="groups: [fleet, nowhere]", release="v7.0.0"),
            "c.yaml": dset(
                "c", selector="devices: [amr-ghost-01]", extra_configs="    camera:\n      values: {a: 1}\n"
            ),
        },
    )
    found = await problems_of(root)
    text = "\n".join(found)
    assert (
        "deploymentsets/a.yaml:" in text
        and "content invalid at $.max_speed: 9 is greater than the maximum" in text
    )
    assert "group 'nowhere' does not exist on the platform" in text
    assert "release 'v7.0.0' does not exist on the platform" in text
    assert "config type 'camera' does not exist on the platform" in text
    assert "device 'amr-ghost-01' (DeploymentSet 'c') does not exist on the platform" in text
    assert "is matched by DeploymentSets" in text  # warehouse-east devices are in a and b
    assert "warning: operator-notes: opaque schema, content not checked" in text


def test_validate_online_cli(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    good = write_project(tmp_path / "good", emu.db)
    result = CliRunner().invoke(main, ["validate", str(good), "--online"])
    assert result.exit_code == 0, result.stderr
    assert "content not checked" in result.stderr
    bad = write_project(tmp_path / "bad", emu.db, {"x.yaml": dset("x", motion="values: {max_speed: 9}")})
    assert CliRunner().invoke(main, ["validate", str(bad)]).exit_code == 0  # offline: cannot know
    result = CliRunner().invoke(main, ["validate", str(bad), "--online"])
    assert result.exit_code == 1
    assert "$.max_speed: 9 is greater than the maximum of 3" in result.stderr


def test_one_invalid_file_used_by_two_sets_is_reported_once(emu: Harness, tmp_path: Path) -> None:
    """Both example sets (two releases, two motion-control schemas) read configs/motion-control.json;
    an invalid value in it is one problem at one place, not one per set."""
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu.db)
    mc = root / "configs" / "motion-control.json"
    mc.write_text(mc.read_text().replace('"max_accel": 0.5', '"max_accel": 9'))
    result = CliRunner().invoke(main, ["validate", str(root), "--online"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"{root}/configs/motion-control.json:3:16: error: motion-control: content invalid at "
        "$.max_accel: 9 is greater than the maximum of 2"
    ]
    assert "1 problem found" in result.stderr
