"""Where `reconcile import` reads from (`--base-url`, or an existing reconcile.yaml's target), the
reconcile.yaml it writes, and which of the fleet's content holds secret fields."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from reconciler.commands.plan import live_progress
from reconciler.commands.wiring import session
from reconciler.errors import ReconcileError
from reconciler.manifests.loader import PROJECT_FILE, load_path
from reconciler.model.live import LiveState
from reconciler.model.project import Project, RemoteTarget
from reconciler.plan import adopt
from reconciler.platform.live import read_live_state
from reconciler.sensitive import SecretFields


def source_project(path: Path, base_url: str | None) -> tuple[Project, bool]:
    """The platform to read, and whether reconcile.yaml is to be written: `--base-url` (or
    MIRU_BASE_URL) names it and reconcile.yaml is written; else an existing reconcile.yaml's
    target is read and the file is kept as it is."""
    url = base_url or os.environ.get("MIRU_BASE_URL")
    if url:
        return Project(root=path, target=RemoteTarget(base_url=url)), True
    if (path / PROJECT_FILE).exists():
        return load_path(path, require_sets=False), False  # import writes the first sets
    raise ReconcileError(
        f"{path}: which platform? neither --base-url nor MIRU_BASE_URL is set and there is no {PROJECT_FILE}",
        hint=f"pass --base-url https://..., or write a {PROJECT_FILE} with only its target",
    )


def project_file(project: Project) -> str:
    target = project.target
    assert isinstance(target, RemoteTarget)
    doc = {"target": {"base_url": target.base_url, "api_version": target.api_version}}
    doc["manifests"] = [f"{adopt.SETS_DIR}/**/*.yaml"]  # type: ignore[assignment]
    return (
        "# Written by `reconcile import`. The API key comes from MIRU_API_KEY, never from this file.\n"
        + yaml.safe_dump(doc, sort_keys=False)
    )


async def read(project: Project, base_url: str | None) -> LiveState:
    with live_progress() as progress:
        async with session(project, base_url) as wired:
            return await read_live_state(wired.platform, progress=progress, recent_instances=False)


def secret_check(live: LiveState) -> Any:
    """`(slug, value) -> bool`: does the content hold a secret field (by name, or marked in a
    schema of that config type)?"""
    docs: dict[str, list[Any]] = {}
    for s in live.schemas.values():
        for _, data in s.documents:
            try:
                docs.setdefault(s.config_type_slug, []).append(yaml.safe_load(data))
            except yaml.YAMLError:
                continue

    def check(slug: str, value: Any) -> bool:
        return any(SecretFields(d).has_secrets(value) for d in docs.get(slug, [None]))

    return check
