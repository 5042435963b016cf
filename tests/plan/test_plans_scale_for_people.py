"""Plans that scale for people: exceptions grouped by reason (and staged-and-waiting devices
by set) in text and markdown, overlaps by pair of sets and unknown devices by set (one
problem, so one GitHub annotation, however many devices); `--verbose` names every device;
markdown names the offline devices."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.model.enums import Action, BlockReason
from reconciler.model.plan import DeviceChange, Plan
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, write_project

MISSING = "release '2.0.1' does not exist on the platform"


def blocked(device: str) -> DeviceChange:
    return DeviceChange(
        device,
        f"id-{device}",
        Action.BLOCKED,
        "east",
        release_to="2.0.1",
        reason=MISSING,
        reason_code=BlockReason.RELEASE_UNKNOWN,
    )


def waiting(device: str, dep: str) -> DeviceChange:
    reason = f"staged as {dep}, waiting for someone to deploy it"
    return DeviceChange(device, f"id-{device}", Action.NOOP, "lab", reason=reason)


def deploy(device: str, offline: bool = False) -> DeviceChange:
    return DeviceChange(device, f"id-{device}", Action.DEPLOY, "east", "v1", "v1", offline=offline)


PLAN = Plan(
    changes=(
        *(blocked(f"amr-{i:02d}") for i in range(1, 10)),
        *(waiting(f"lab-{i}", f"dep-{i}") for i in range(1, 4)),
        *(deploy(f"agv-{i:02d}", offline=i > 5) for i in range(1, 9)),
    )
)


def test_text_groups_exceptions_and_verbose_names_every_device() -> None:
    text = render_text(PLAN)
    assert (
        f"  ! blocked: {MISSING}: 9 devices (east): amr-01, amr-02, amr-03, amr-04, amr-05, ... (+4 more)"
        in text
    )
    assert "  = noop: staged, waiting for someone to deploy it: 3 devices (lab): lab-1, lab-2, lab-3" in text
    assert text.count(MISSING) == 1
    every = render_text(PLAN, sample_size=None)
    assert "amr-09" in every and "agv-08" in every and "more)" not in every


def test_markdown_groups_exceptions_and_names_offline_devices() -> None:
    md = render_markdown(PLAN)
    assert md.count(MISSING) == 1 and "**9 devices** (east): amr-01, amr-02" in md
    assert "#### Exceptions (12 devices)" in md
    assert "Offline (will queue): 3: agv-06, agv-07, agv-08" in md


def test_overlaps_by_pair_of_sets_and_unknown_devices_by_set(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    sets = {
        "a.yaml": dset("a", selector="groups: [fleet]"),
        "b.yaml": dset("b", selector="groups: [warehouse-east]"),
        "c.yaml": dset("c", selector="devices: [lab-arm-01, ghost-1, ghost-2, ghost-3]"),
    }
    root = write_project(tmp_path / "p", emu.db, sets)
    result = CliRunner().invoke(main, ["validate", str(root), "--online"])
    assert result.exit_code == 1
    err = result.stderr
    assert err.count("is matched by DeploymentSets") == 1
    assert "each of 8 devices is matched by DeploymentSets 'a' (deploymentsets/a.yaml:2:1) and 'b': " in err
    assert "'amr-east-01', 'amr-east-02'" in err
    assert (
        "3 devices of DeploymentSet 'c' do not exist on the platform: 'ghost-1', 'ghost-2', 'ghost-3'" in err
    )


def test_plan_verbose_names_every_device(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu.db)
    short = CliRunner().invoke(main, ["plan", str(root)]).stdout
    assert "... (+7 more)" in short and "amr-west-06" not in short
    every = CliRunner().invoke(main, ["plan", str(root), "--verbose"]).stdout
    assert "more)" not in every and "amr-west-06" in every
