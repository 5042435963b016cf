"""`reconcile plan` exits 1 when a device is blocked by an error in the manifests (after
printing the plan), so a pull-request gate never reads a broken manifest as "nothing to do";
a device blocked only by its state (never enrolled) is not an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, invoke, write_project

BROKEN = {
    "unknown release": dict(release="2.0.1"),
    "unknown config type": dict(extra_configs="    no-such-type: {values: {a: 1}}\n"),
    "content the schema rejects": dict(motion="values: {max_speed: 9.5}"),
    "unknown device": dict(selector="devices: [lab-arm-01, lab-arm-99]"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_device_blocked_by_the_manifests_exits_1_after_the_plan(
    case: str, emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(tmp_path / "p", emu.db, {"a.yaml": dset("a", **BROKEN[case])})
    for extra in ((), ("--detailed-exitcode",), ("--format", "markdown"), ("--format", "json")):
        code, out, err = invoke("plan", str(root), *extra)
        assert code == 1, (case, extra, out, err)
        assert "blocked" in out  # the plan is printed first, then the error
        assert "blocked by errors in the manifests or by drift to review" in err and "Traceback" not in err


def test_a_device_blocked_only_for_having_no_agent_is_not_an_error(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu.db, {"a.yaml": dset("a", selector="devices: [amr-spare-01]")})
    code, out, err = invoke("plan", str(root), "--detailed-exitcode")
    assert code == 0, err
    assert "amr-spare-01" in out and "never enrolled" in out and err == ""
