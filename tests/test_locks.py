"""The locks: one resolution of pyproject.toml, installed exactly (`make install`), regenerated only
by `make lock`.

`locks/dev.lock` is what `make install` installs (then the project with `--no-deps`);
`action/requirements.lock` is the runtime closure cut from the same resolution, what action.yml
installs. Everything here is checked offline, so the result does not depend on what the package
index published this week.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEV_LOCK = ROOT / "locks" / "dev.lock"
RUNTIME_LOCK = ROOT / "action" / "requirements.lock"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# Put in every venv by `python -m venv` itself on 3.11, not by the lock.
SEEDED_BY_VENV = {"setuptools"}


def _env(minor: str) -> dict[str, str]:
    return {"python_version": minor, "python_full_version": f"{minor}.0", "extra": ""}


def _reqs(lock: Path) -> list[Requirement]:
    lines = [ln.strip() for ln in lock.read_text().splitlines()]
    return [Requirement(ln) for ln in lines if ln and not ln.startswith("#")]


def pins(lock: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """name -> version for one Python (this one when env is None)."""
    out: dict[str, str] = {}
    for req in _reqs(lock):
        if req.marker is None or req.marker.evaluate(env):
            [spec] = list(req.specifier)
            name = canonicalize_name(req.name)
            assert name not in out, f"{lock.name}: {name} pinned twice"
            out[name] = spec.version
    return out


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared(project: dict[str, Any]) -> tuple[list[Requirement], list[Requirement]]:
    """(runtime, everything the dev environment needs) as pyproject.toml declares them."""
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    dev = [Requirement(r) for r in project["project"]["optional-dependencies"]["dev"]]
    build = [Requirement(r) for r in project["build-system"]["requires"]]
    return runtime, runtime + dev + build


def unmet(requirements: list[Requirement], pinned: dict[str, str]) -> list[str]:
    """Requirements the pins leave out or pin outside the declared range."""
    bad = []
    for req in requirements:
        version = pinned.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            bad.append(f"{req} (locked: {version})")
    return bad


def test_every_pin_is_exact() -> None:
    for lock in (DEV_LOCK, RUNTIME_LOCK):
        reqs = _reqs(lock)
        assert reqs, lock
        for req in reqs:
            assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", f"{lock}: {req}"


@pytest.mark.parametrize("minor", PYTHONS)
def test_every_declared_dependency_is_locked(minor: str) -> None:
    runtime, everything = declared(_pyproject())
    assert not unmet(everything, pins(DEV_LOCK, _env(minor))), "run `make lock`"
    assert not unmet(runtime, pins(RUNTIME_LOCK, _env(minor))), "run `make lock`"


def test_a_new_dependency_the_lock_lacks_is_caught() -> None:
    project = _pyproject()
    project["project"]["dependencies"].append("tenacity>=9")
    runtime, everything = declared(project)
    assert unmet(runtime, pins(RUNTIME_LOCK)) == ["tenacity>=9 (locked: None)"]
    assert unmet(everything, pins(DEV_LOCK)) == ["tenacity>=9 (locked: None)"]
    # A range the pinned version falls outside of is caught the same way.
    project["project"]["dependencies"][-1] = "rich<13"
    assert unmet(declared(project)[0], pins(RUNTIME_LOCK))[0].startswith("rich<13 (locked: ")


@pytest.mark.parametrize("minor", PYTHONS)
def test_the_locks_come_from_one_resolution(minor: str) -> None:
    dev, runtime = pins(DEV_LOCK, _env(minor)), pins(RUNTIME_LOCK, _env(minor))
    differ = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differ, f"runtime lock != dev lock (runtime, dev): {differ}; run `make lock`"


def _runtime_closure() -> dict[str, str]:
    todo = declared(_pyproject())[0]
    seen: dict[str, str] = {}
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name not in seen:
            dist = metadata.distribution(req.name)
            seen[name] = dist.version
            todo += [Requirement(r) for r in dist.requires or []]
    return seen


def test_the_runtime_lock_is_exactly_the_runtime_closure() -> None:
    """Nothing missing (an ImportError on the action's runner) and nothing extra."""
    assert pins(RUNTIME_LOCK) == _runtime_closure()


def test_the_installed_environment_is_the_lock() -> None:
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    installed.pop("reconciler", None)
    for name in SEEDED_BY_VENV:
        installed.pop(name, None)
    locked = pins(DEV_LOCK)
    assert installed == locked, {
        "installed, not locked": sorted(set(installed) - set(locked)),
        "locked, not installed": sorted(set(locked) - set(installed)),
        "versions (installed, locked)": {
            n: (installed[n], locked[n]) for n in set(installed) & set(locked) if installed[n] != locked[n]
        },
    }
