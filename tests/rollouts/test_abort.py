"""`reconcile apply --abort SET --revert`: the devices that run a set's rollout go back to their
previous deployment through the rollback path; the rollback markers on the platform make every
later plan hold that content back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import deployments, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_abort_revert_takes_the_canaries_back_and_the_next_plan_holds_the_content(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_count": 1, "health_check": HEALTH},
    )
    paused = asyncio.run(run(root, asyncio.run(make(root))))
    assert paused.records[0].status.state == "paused"
    before = asyncio.run(make(root))
    assert before.rollouts["all"].done == ("lab-arm-01",)
    aborted = _cli("apply", str(root), "--auto-approve", "--abort", "all", "--revert", "--format", "json")
    assert aborted.exit_code == 0, aborted.output
    out = json.loads(aborted.stdout)
    validate(out, "apply-output.schema.json")
    assert [(e["device"], e["action"], e["state"]) for e in out["ledger"]] == [
        ("lab-arm-01", "abort", "rolled_back")
    ]
    rollbacks = [d for d in asyncio.run(deployments(emu)) if "why=aborted" in d.description]
    assert len(rollbacks) == 1 and f"undo={before.rollouts['all'].id}" in rollbacks[0].description
    # Recorded first, so a run in flight elsewhere would stop: a control record on the platform.
    commits = asyncio.run(emu.sdk().git_commits.list(limit=100)).data
    assert [c.message.split()[1] for c in commits] == ["control=abort-revert"]
    after = asyncio.run(make(root))
    assert "was aborted and was rolled back on lab-arm-01" in after.rollouts["all"].held
    # Some readings switch a device's current release only when its agent confirms the rollback.
    asyncio.run(emu.tick(30))
    sdk = emu.sdk()
    page = asyncio.run(sdk.devices.list(limit=100, expand=["current_release"]))
    assert {
        d.name: d.current_release.version if d.current_release else None
        for d in page.data
        if d.name.startswith("lab")
    } == {
        "lab-arm-01": "v1.4.1",
        "lab-arm-02": "v1.4.1",
        "lab-arm-03": "v1.4.1",
    }
    # --retry-failed rolls the content out again, and clears the abort for every clone.
    retried = _cli("apply", str(root), "--auto-approve", "--retry-failed")
    assert retried.exit_code == 0, retried.output
    commits = asyncio.run(emu.sdk().git_commits.list(limit=100)).data
    assert sorted(c.message.split()[1] for c in commits) == ["control=abort-revert", "control=resume"]
    assert asyncio.run(make(root)).rollouts["all"].control is None


def test_abort_needs_revert_and_a_set_with_something_to_take_back(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    no_revert = _cli("apply", str(root), "--auto-approve", "--abort", "all")
    assert no_revert.exit_code == 1 and "needs exactly one of --keep" in no_revert.output
    unknown = _cli("apply", str(root), "--auto-approve", "--abort", "nope", "--revert")
    assert (
        unknown.exit_code == 1
        and "no DeploymentSet 'nope' in the plan (DeploymentSets: all)" in unknown.output
    )
    nothing = _cli("apply", str(root), "--auto-approve", "--abort", "all", "--revert")
    assert nothing.exit_code == 1 and "no device runs rollout" in nothing.output
    assert [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")] == []
