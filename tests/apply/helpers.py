"""Helpers for apply tests: a project directory whose target is the harness's db file, with
one generated DeploymentSet over the example fleet, and plans made by the real planner."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from reconciler.apply.executor import ApplyResult, execute
from reconciler.apply.progress import Reporter, Silent
from reconciler.commands.wiring import EmulatorClock, session
from reconciler.manifests.loader import load_path
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.platform.client import Platform
from tests.harness import Harness, example_configs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write_project(
    root: Path,
    emu: Harness,
    *,
    rollout: dict[str, Any] | None = None,
    max_speed: float = 1.2,
    release: str = "v1.4.1",
    groups: tuple[str, ...] = ("fleet", "lab"),
    name: str = "all",
    extra: dict[str, Any] | None = None,
) -> Path:
    """A project with one DeploymentSet `name` over `groups`, changing motion-control.max_speed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconcile.yaml").write_text(
        yaml.safe_dump(
            {"target": {"emulator": {"db": str(Path(emu.db).resolve())}}, "manifests": ["sets/*.yaml"]}
        )
    )
    cfg = example_configs()
    (root / "configs").mkdir(exist_ok=True)
    (root / "configs" / "motion-control.json").write_text(json.dumps(cfg["motion-control"]))
    (root / "configs" / "localization.yaml").write_text(yaml.safe_dump(cfg["localization"]))
    (root / "configs" / "operator-notes.txt").write_text(cfg["operator-notes"])
    spec: dict[str, Any] = {
        "selector": {"groups": list(groups)},
        "release": release,
        "configs": {
            "motion-control": {"file": "../configs/motion-control.json", "values": {"max_speed": max_speed}},
            "localization": {"file": "../configs/localization.yaml"},
            "operator-notes": {"file": "../configs/operator-notes.txt"},
        },
        "rollout": rollout or {"strategy": "immediate"},
    }
    spec.update(extra or {})
    (root / "sets").mkdir(exist_ok=True)
    (root / "sets" / f"{name}.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "reconciler/v1", "kind": "DeploymentSet", "metadata": {"name": name}, "spec": spec}
        )
    )
    return root


@asynccontextmanager
async def platform_for(project: Project) -> AsyncIterator[Platform]:
    async with session(project) as wired:
        yield wired.platform


async def make(root: Path) -> Plan:
    from reconciler.commands.planning import make_plan

    project = load_path(root)
    async with session(project) as wired:
        return await make_plan(project, wired)


async def run(
    root: Path,
    plan: Plan,
    *,
    promote: bool = False,
    reporter: Reporter | None = None,
    stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    project = load_path(root)
    async with session(project) as wired:
        assert isinstance(wired.clock, EmulatorClock), "tests must advance the emulator clock, never sleep"
        return await execute(
            plan,
            wired.platform,
            root=project.root,
            clock=wired.clock,
            promote=promote,
            reporter=reporter,
            stop=stop,
        )


class Notes(Silent):
    """A reporter that keeps what it was told (the progress display's events)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def wave(self, deployment_set: str, wave: int, total_waves: int, devices: int) -> None:
        self.lines.append(f"{deployment_set} wave {wave}/{total_waves} {devices}")

    def note(self, deployment_set: str, text: str) -> None:
        self.lines.append(f"{deployment_set}: {text}")


async def all_pages(list_call: Callable[..., Awaitable[Any]], **kwargs: Any) -> list[Any]:
    """Every item of an SDK list call, page by page."""
    out: list[Any] = []
    offset = 0
    while True:
        page = await list_call(limit=100, offset=offset, **kwargs)
        out += page.data
        if not page.has_more:
            return out
        offset += len(page.data)


async def deployments(emu: Harness, **kwargs: Any) -> list[Any]:
    """Every deployment on the platform (all pages)."""
    return await all_pages(emu.sdk().deployments.list, **kwargs)


async def config_instances(emu: Harness) -> list[Any]:
    return await all_pages(emu.sdk().config_instances.list, expand=["content"])


def on_a_terminal(args: list[str], env: dict[str, str], typed: bytes = b"") -> tuple[int, bytes]:
    """Run with stdin, stdout and stderr on a pseudo-terminal, `typed` waiting in its input;
    return the exit code and everything the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    if typed:
        os.write(master, typed)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=120), out


def is_rollback(description: str) -> bool:
    """A deployment reconcile wrote to roll back a rollout (its marker names the rollout undone)."""
    from reconciler.model.marker import parse

    m = parse(description)
    return m is not None and m.is_rollback
