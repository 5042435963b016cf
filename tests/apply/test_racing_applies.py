"""Two applies of one saved plan at the same instant, each a `reconcile` process in its own fresh
clone, against one emulator served on 127.0.0.1, with latency on config-instance reads. The
race is made to happen, not hoped for: a fault rule holds each process's first look for an
identical instance until both processes have looked, so both find none and both create. They
must then converge: every deployment uses one instance per content (the first created), no
device gets two deployments, and the instance that lost is reported by the run that made it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.live import parse_time
from reconciler.model.marker import parse as parse_marker
from tests.apply.helpers import config_instances, deployments
from tests.harness import RW_KEY, Harness, as_dict, example_fleet
from tests.plan.projects import served_emulator, write_project

pytestmark = pytest.mark.anyio
RECONCILE = str(Path(sys.executable).parent / "reconcile")
READS = {"method": "GET", "path": "/beta/config_instances"}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def url(emu: Harness) -> Iterator[str]:
    with served_emulator(Path(emu.db)) as served:
        yield served


def _repo(tmp: Path, db: str, n_devices: int) -> Path:
    """The example project (its DeploymentSets and configs) as a git repository, its device
    names as wide as the fleet's."""
    repo = write_project(tmp / "repo", db, enrollment=False)
    width = max(2, len(str(n_devices)))
    sets = repo / "deploymentsets" / "warehouse-amrs.yaml"
    sets.write_text(sets.read_text().replace("amr-east-0", f"amr-east-{'0' * (width - 1)}"))
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "fleet", cwd=repo)
    return repo


def _clone(repo: Path, name: str) -> Path:
    clone = repo.parent / name
    _git("clone", "-q", str(repo), str(clone), cwd=repo.parent)
    return clone


def _content(inst: dict[str, Any]) -> tuple[str, str, str, str]:
    c = inst.get("content") or {}
    return (inst["config_schema_id"], inst["slot_key"], c.get("format", ""), c.get("data", ""))


# Under the emulator's historical reading, and under one where nothing about order helps: random
# ids, same-instant rows listed by id, timestamps in whole seconds (both rivals share one).
OPAQUE = {"ids": "random", "sort_ties": "id_asc", "timestamps": "seconds"}


@pytest.mark.slow
@pytest.mark.parametrize("n_devices, reading", [(17, {}), (17, OPAQUE), (200, {})])
async def test_one_plan_applied_twice_at_once_converges_on_one_instance_per_content(
    emu: Harness, url: str, tmp_path: Path, n_devices: int, reading: dict[str, str]
) -> None:
    assert (await emu.admin.post("/_emulator/platform", json=reading)).status_code == 200
    await emu.seed(example_fleet(n_devices))
    settings = (await emu.admin.get("/_emulator/platform")).json()
    assert all(settings[k] == v for k, v in reading.items()), settings
    env = {**os.environ, "MIRU_BASE_URL": url + "/beta", "MIRU_API_KEY": RW_KEY, "NO_COLOR": "1"}
    repo = _repo(tmp_path, emu.db, n_devices)
    planner = _clone(repo, "planner")
    made = subprocess.run(
        [RECONCILE, "plan", ".", "--out", "plan.json"], cwd=planner, env=env, capture_output=True, text=True
    )
    assert made.returncode in (0, 2), made.stdout + made.stderr
    plan = json.loads((planner / "plan.json").read_text())
    new = [i for i in plan["instances"] if not i.get("existing_id")]
    groups = {(i["config_schema_id"], i["slot_key"]) for i in new}
    assert len(new) == 3  # the example's three new contents (of two schemas)
    before = {as_dict(i)["id"] for i in await config_instances(emu)}

    # Each process looks once per (schema, slot) before creating: hold those looks until all of
    # both processes' have arrived. Every other read of instances is slow (1 s).
    held = len(groups) * 2
    look = {**READS, "query": "*slot_key=*", "hold": held, "times": held, "latency": 1}
    await emu.faults([look, {**READS, "latency": 1}])
    clones = [_clone(repo, name) for name in ("x", "y")]
    for c in clones:
        shutil.copy(planner / "plan.json", c / "plan.json")
    procs = [
        subprocess.Popen(
            [RECONCILE, "apply", ".", "--plan", "plan.json", "--auto-approve", "--format", fmt],
            cwd=c,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c, fmt in zip(clones, ("json", "text"), strict=True)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    rules = (await emu.admin.get("/_emulator/faults")).json()["rules"]
    await emu.faults([])
    shown = "\n".join(out + err for out, err in outputs)
    assert all(p.returncode in (0, 1) for p in procs) and "Traceback" not in shown, shown
    assert rules[0]["fired"] == held, rules  # both processes looked, and were held together

    # The race happened: each new content was created twice, once by each process.
    made_now = [i for i in map(as_dict, await config_instances(emu)) if i["id"] not in before]
    by_content: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for i in made_now:
        by_content.setdefault(_content(i), []).append(i)
    assert len(by_content) == 3 and all(len(v) == 2 for v in by_content.values()), by_content
    first = {k: min((parse_time(i["created_at"]), i["id"]) for i in v)[1] for k, v in by_content.items()}
    losers = {i["id"] for v in by_content.values() for i in v} - set(first.values())

    # Both converged on the first created: every deployment uses it, none a loser.
    ours = [d for d in await deployments(emu, expand=["config_instances"]) if parse_marker(d.description)]
    assert ours
    used = Counter(c.id for d in ours for c in d.config_instances or [] if c.id not in before)
    assert set(used) == set(first.values()), (used, first)
    # No device has two live deployments. (Both runs leave the barrier, and so start deploying,
    # at the same instant: a device both wrote to in their first batch keeps one deployment,
    # the parent token refusing or the platform archiving the other; then one run yields.)
    live = [d for d in ours if d.target_status in ("staged", "deployed")]
    assert live and set(Counter(d.device_id for d in live).values()) == {1}

    # Each losing instance is reported, once, by the run that created it: on stderr as it
    # happens, and in its result (JSON, or the text summary) when the run got that far.
    reported: list[str] = []
    for (out, err), fmt in zip(outputs, ("json", "text"), strict=True):
        race = "lost a race with another apply"
        notes = [ln for ln in err.splitlines() if race in ln]
        ids = [n.split("config instance ", 1)[1].split()[0] for n in notes]
        reported += ids
        if fmt == "text" and out.strip():
            assert [ln for ln in out.splitlines() if race in ln] == [
                n.removeprefix("[apply] ") for n in notes
            ]
        elif out.strip():
            lost = json.loads(out)["lost_instances"]
            assert sorted(x["id"] for x in lost) == sorted(ids)
            assert all(x["winner"] in first.values() for x in lost)
            assert all("no deployment uses it" in x["message"] for x in lost)
    assert sorted(reported) == sorted(losers), shown
