"""Selector and override entries that match nothing: an override device or pattern outside
its set is an error (ignoring it would plan that robot back to the set's values); a set's
group or pattern matching no device is a warning; an unknown explicit device is an error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, invoke, write_project

TYPO = "    - devices: [lab-arm-1]\n      configs:\n        motion-control: {values: {max_speed: 0.9}}\n"
PATTERN = "    - patterns: ['amr-*']\n      configs:\n        motion-control: {values: {max_speed: 0.9}}\n"


@pytest.mark.parametrize(
    ("override", "message", "line"),
    [
        (
            TYPO,
            "overrides[0]: device 'lab-arm-1' is not one of DeploymentSet 'a''s devices; "
            "did you mean 'lab-arm-01'?",
            19,
        ),
        (PATTERN, "overrides[0]: pattern 'amr-*' matches none of DeploymentSet 'a''s devices", 19),
    ],
)
def test_an_override_naming_no_device_of_its_set_is_an_error(
    override: str, message: str, line: int, emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(
        tmp_path / "p", emu.db, {"a.yaml": dset("a", selector="groups: [lab]", overrides=override)}
    )
    code, out, err = invoke("validate", str(root), "--online")
    assert code == 1
    assert f"deploymentsets/a.yaml:{line}:" in err and message in err
    code, out, err = invoke("plan", str(root))
    assert code == 1 and out == ""  # not a plan that sets the robot back to full speed
    assert message in err


def test_a_group_or_pattern_matching_no_device_is_a_warning(emu: Harness, tmp_path: Path) -> None:
    seed = example_fleet(spare=False)
    seed["groups"].append({"name": "empty", "parent": "fleet"})
    asyncio.run(emu.seed(seed))
    sel = "groups: [lab, empty]\n    patterns: ['agv-*']"
    root = write_project(tmp_path / "p", emu.db, {"a.yaml": dset("a", selector=sel)})
    code, out, err = invoke("validate", str(root), "--online")
    assert code == 0, err
    assert "deploymentsets/a.yaml:7:" in err and "warning: group 'empty' has no devices" in err
    assert "deploymentsets/a.yaml:8:" in err and "warning: pattern 'agv-*' matches no device" in err
    code, out, err = invoke("plan", str(root))
    assert code == 0, err
    assert "Note: deploymentsets/a.yaml:8:16: pattern 'agv-*' matches no device" in out


def test_an_explicit_device_that_does_not_exist_is_an_error(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(
        tmp_path / "p", emu.db, {"a.yaml": dset("a", selector="devices: [lab-arm-01, agv-9]")}
    )
    code, _, err = invoke("validate", str(root), "--online")
    assert code == 1 and "device 'agv-9' (DeploymentSet 'a') does not exist on the platform" in err
    code, out, err = invoke("plan", str(root))
    assert code == 1 and "agv-9" in out and "blocked by errors in the manifests or by drift to review" in err
