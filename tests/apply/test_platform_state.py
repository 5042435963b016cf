"""The platform is the state: each step runs `reconcile` in a fresh clone of a fleet repository (a
new working directory, no `.reconcile/`), against one emulator served over loopback, as CI runs
it on every merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.model.marker import parse as parse_marker
from tests.apply.helpers import deployments
from tests.harness import RO_KEY, RW_KEY, Harness, example_configs, example_fleet
from tests.plan.projects import served_emulator

pytestmark = pytest.mark.anyio
RECONCILE = str(Path(sys.executable).parent / "reconcile")
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}
LAB = {"strategy": "canary", "canary_count": 1, "auto_promote": False, "health_check": HEALTH}


def _set(
    name: str, groups: list[str], release: str, max_speed: float, rollout: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "DeploymentSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"groups": groups},
            "release": release,
            "configs": {
                "motion-control": {
                    "file": "../configs/motion-control.json",
                    "values": {"max_speed": max_speed},
                },
                "localization": {"file": "../configs/localization.yaml"},
                "operator-notes": {"file": "../configs/operator-notes.txt"},
            },
            "rollout": rollout,
        },
    }


class Fleet:
    """A git repository of manifests; every step clones it afresh."""

    def __init__(self, root: Path, url: str) -> None:
        self.repo, self.url, self.clones = root / "repo", url, 0
        self.repo.mkdir()
        cfg = example_configs()
        (self.repo / "configs").mkdir()
        (self.repo / "configs" / "motion-control.json").write_text(json.dumps(cfg["motion-control"]))
        (self.repo / "configs" / "localization.yaml").write_text(yaml.safe_dump(cfg["localization"]))
        (self.repo / "configs" / "operator-notes.txt").write_text(cfg["operator-notes"])
        (self.repo / "reconcile.yaml").write_text(
            yaml.safe_dump({"target": {"base_url": "http://127.0.0.1:9/beta"}, "manifests": ["sets/*.yaml"]})
        )
        (self.repo / "sets").mkdir()
        self.git("init", "-q")
        self.commit(lab=("v1.4.2", 1.0, LAB), warehouse=(1.2,))

    def git(self, *args: str, cwd: Path | None = None) -> None:
        subprocess.run(
            ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
            cwd=cwd or self.repo,
            check=True,
            capture_output=True,
        )

    def commit(self, *, lab: tuple[str, float, dict[str, Any]], warehouse: tuple[float]) -> None:
        release, speed, rollout = lab
        docs = {
            "lab-canary": _set("lab-canary", ["lab"], release, speed, rollout),
            "warehouse": _set("warehouse", ["fleet"], "v1.4.1", warehouse[0], {"strategy": "immediate"}),
        }
        for name, doc in docs.items():
            (self.repo / "sets" / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        self.git("add", "-A")
        self.git("commit", "-qm", "fleet", "--allow-empty")

    def run(self, *args: str, key: str = RW_KEY) -> subprocess.CompletedProcess[str]:
        """`reconcile ARGS` in a fresh clone."""
        self.clones += 1
        clone = self.repo.parent / f"clone-{self.clones}"
        self.git("clone", "-q", str(self.repo), str(clone), cwd=self.repo.parent)
        env = {**os.environ, "MIRU_BASE_URL": self.url + "/beta", "MIRU_API_KEY": key, "NO_COLOR": "1"}
        return subprocess.run(
            [RECONCILE, *args], cwd=clone, env=env, capture_output=True, text=True, timeout=300
        )


@pytest.fixture
def fleet(emu: Harness, tmp_path: Path) -> Iterator[Fleet]:
    with served_emulator(Path(emu.db)) as url:
        yield Fleet(tmp_path, url)


async def _release_of(emu: Harness) -> dict[str, str]:
    """device name -> the release version of its target deployment."""
    sdk = emu.sdk()
    devices = {d.id: d.name for d in (await sdk.devices.list(limit=100)).data}
    releases = {r.id: r.version for r in (await sdk.releases.list(limit=100)).data}
    out = {}
    for d in await deployments(emu, target_status=["deployed"]):
        out[devices[d.device_id]] = releases[d.release_id]
    return out


async def test_pause_status_unrelated_change_promote_then_converged(emu: Harness, fleet: Fleet) -> None:
    await emu.seed(example_fleet(offline=[]))
    first = fleet.run("apply", ".", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    lab = {n: v for n, v in (await _release_of(emu)).items() if n.startswith("lab-")}
    assert lab == {"lab-arm-01": "v1.4.2", "lab-arm-02": "v1.4.1", "lab-arm-03": "v1.4.1"}

    status = fleet.run("status", ".", "--format", "json")
    assert status.returncode == 0, status.stderr
    shown = {s["deployment_set"]: s for s in json.loads(status.stdout)["sets"]}
    assert shown["lab-canary"]["state"] == "paused" and shown["lab-canary"]["devices_done"] == ["lab-arm-01"]
    assert shown["warehouse"]["state"] == "completed"
    drift = fleet.run("drift", ".")  # the nightly check names the paused rollout
    assert (
        drift.returncode == 2
        and f"rollout paused: lab-canary ({shown['lab-canary']['rollout']})" in drift.stdout
    )

    # An unrelated merge: the paused canary set is left alone, no further lab arm is upgraded.
    fleet.commit(lab=("v1.4.2", 1.0, LAB), warehouse=(1.3,))
    plan = fleet.run("plan", ".")
    assert "paused: 1 device(s) run it; `reconcile apply --promote` continues with 2 more" in plan.stdout
    other = fleet.run("apply", ".", "--auto-approve")
    assert other.returncode == 0, other.stdout + other.stderr
    assert {n: v for n, v in (await _release_of(emu)).items() if n.startswith("lab-")} == lab

    promoted = fleet.run("apply", ".", "--promote")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert {v for n, v in (await _release_of(emu)).items() if n.startswith("lab-")} == {"v1.4.2"}
    assert fleet.run("plan", ".", "--detailed-exitcode").returncode == 0
    # one rollout of the lab content across the three clones that wrote it
    lab_rollouts = {
        m.rollout
        for d in await deployments(emu)
        if (m := parse_marker(d.description)) is not None and m.deployment_set == "lab-canary"
    }
    assert len(lab_rollouts) == 1 and shown["lab-canary"]["rollout"] in lab_rollouts


async def test_a_failed_and_rolled_back_content_is_held_back(emu: Harness, fleet: Fleet) -> None:
    await emu.seed(example_fleet(offline=[]))
    await emu.patch_device("lab-arm-01", agent={"behaviour": "fail"})
    failed = fleet.run("apply", ".", "--auto-approve")
    assert failed.returncode == 1 and "lab-arm-01    failed" in failed.stdout, failed.stdout + failed.stderr
    before = {d.id for d in await deployments(emu)}

    fleet.commit(lab=("v1.4.2", 1.0, LAB), warehouse=(1.3,))  # an unrelated merge
    plan = fleet.run("plan", ".")
    assert "held back: rollout ro-" in plan.stdout and "of this content failed on lab-arm-01" in plan.stdout
    drift = fleet.run("drift", ".", "--format", "json")
    (held,) = json.loads(drift.stdout)["rollouts"]
    assert (held["deployment_set"], held["state"]) == ("lab-canary", "held")
    again = fleet.run("apply", ".", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    written = [d for d in await deployments(emu) if d.id not in before]
    assert written  # the unrelated change went out
    assert all(not (m := parse_marker(d.description)) or m.deployment_set != "lab-canary" for d in written)

    retried = fleet.run("apply", ".", "--auto-approve", "--retry-failed")
    assert retried.returncode == 1 and "lab-arm-01    failed" in retried.stdout  # tried again: it still fails


async def test_a_read_only_key_stops_apply_with_one_error_and_writes_nothing(
    emu: Harness, fleet: Fleet
) -> None:
    await emu.seed(example_fleet(offline=[]))
    before = len(await deployments(emu))
    result = fleet.run("apply", ".", "--auto-approve", key=RO_KEY)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "it needs the scope config_instances:write" in errors[0], result.stderr
    assert "Traceback" not in result.stderr and "rolled back" not in result.stdout + result.stderr
    assert len(await deployments(emu)) == before
    clone = fleet.repo.parent / f"clone-{fleet.clones}"
    assert not list(clone.glob(".reconcile/rollouts/*.json"))


async def test_two_applies_at_once_on_one_set_write_each_device_once(emu: Harness, fleet: Fleet) -> None:
    await emu.seed(example_fleet(offline=[]))
    env = {**os.environ, "MIRU_BASE_URL": fleet.url + "/beta", "MIRU_API_KEY": RW_KEY}
    clones = []
    for name in ("x", "y"):
        clone = fleet.repo.parent / name
        fleet.git("clone", "-q", str(fleet.repo), str(clone), cwd=fleet.repo.parent)
        clones.append(clone)
    procs = [
        subprocess.Popen(
            [RECONCILE, "apply", ".", "--auto-approve"],
            cwd=c,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in clones
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    # Started at the same instant, neither sees the other's writes yet: both run the same rollout
    # (the same content names it), parent tokens let each device take one deployment, and a
    # device staged twice keeps one (the platform archives the replaced staged deployment; the
    # run whose staged deployment was replaced reports that device stale). No device ends with
    # two live deployments, and one more apply converges the fleet.
    live = [
        d
        for d in await deployments(emu, target_status=["staged", "deployed"])
        if parse_marker(d.description) is not None
    ]
    assert set(Counter(d.device_id for d in live).values()) == {1}
    # One writer per set: either one apply saw the other and stopped (exit 1, saying so), or
    # their writes did not overlap in time and a single run wrote each set's rollout.
    refused = [p.returncode for p in procs if p.returncode == 1]
    said = [err for _, err in outputs if "another apply" in err]
    runs = {
        (m.deployment_set, m.run)
        for d in live
        if (m := parse_marker(d.description)) is not None and m.run is not None
    }
    one_run_per_set = len(runs) == len({s for s, _ in runs})
    assert (refused and said) or one_run_per_set, (outputs, runs)
    assert fleet.run("apply", ".", "--auto-approve", "--promote").returncode == 0
    assert fleet.run("plan", ".", "--detailed-exitcode").returncode == 0
