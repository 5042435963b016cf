"""`reconcile import`: write a project from the live fleet (reads only), so adopting a fleet
that is already deployed starts from a plan with no changes. The files come from the pure
`plan/adopt/`; this module reads the platform and writes them."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from reconciler.commands.plan import live_progress
from reconciler.commands.wiring import session
from reconciler.errors import ReconcileError
from reconciler.escape import terminal_lines
from reconciler.manifests.loader import PROJECT_FILE, load_path
from reconciler.model.live import LiveState
from reconciler.model.project import Project, RemoteTarget
from reconciler.plan import adopt
from reconciler.platform.live import read_live_state
from reconciler.sensitive import SecretFields


@dataclass(frozen=True)
class Outcome:
    result: adopt.Result
    requests: int
    cpu_seconds: float  # reading and generating
    generate_cpu_seconds: float  # generating alone (the pure part)
    written: tuple[str, ...]


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


def run_import(
    path: Path,
    *,
    set_per: adopt.SetPer = "group",
    groups: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
    force: bool = False,
    base_url: str | None = None,
) -> Outcome:
    project, write_project = source_project(path, base_url)
    cpu = time.process_time()
    live = asyncio.run(read(project, base_url))
    generating = time.process_time()
    chosen = adopt.select_devices(live, groups, devices)
    unknown = [g for g in groups if live.group_by_name(g) is None]
    unknown += [d for d in devices if d not in live.devices]
    if unknown:
        raise ReconcileError(f"not on the platform: {', '.join(repr(x) for x in unknown)}")
    result = adopt.generate(live, chosen, set_per=set_per, by_name=bool(devices), secret=secret_check(live))
    files = dict(result.files)
    if write_project:
        files[PROJECT_FILE] = project_file(project)
    existing = sorted(rel for rel in files if (path / rel).exists())
    if existing and not force:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise ReconcileError(
            f"{path}: would overwrite {shown}; nothing written", hint="pass --force to overwrite them"
        )
    cpu, generating = time.process_time() - cpu, time.process_time() - generating
    for rel, text in sorted(files.items()):
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))  # bytes: text content is kept exactly
    return Outcome(result, live.requests, cpu, generating, tuple(sorted(files)))


@click.command("import")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--set-per",
    type=click.Choice(["group", "release"]),
    default="group",
    show_default=True,
    help="One DeploymentSet per group (other releases as overrides), or per group and release.",
)
@click.option("--group", "groups", multiple=True, metavar="G", help="Import only this group (and subgroups).")
@click.option("--device", "devices", multiple=True, metavar="D", help="Import only this device.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option(
    "--base-url", metavar="URL", help="Platform base URL (written to reconcile.yaml; env MIRU_BASE_URL)."
)
def command(
    path: Path,
    set_per: str,
    groups: tuple[str, ...],
    devices: tuple[str, ...],
    force: bool,
    base_url: str | None,
) -> int:
    """Write a project into PATH from the live fleet, so that the first `reconcile plan` has
    no changes. Reads only (a read-only API key is enough).

    One DeploymentSet per group (`--set-per release`: per group and release) whose devices'
    current release and config content it holds: content shared by devices is one file under
    configs/, per-device differences are overrides with the fewest values. Devices with no
    agent or no deployment are listed in deploymentsets/not-imported.yaml. The platform is
    --base-url (written to reconcile.yaml), or the target of PATH's reconcile.yaml (kept).
    Existing files are not overwritten unless --force."""
    path.mkdir(parents=True, exist_ok=True)
    outcome = run_import(
        path,
        set_per="release" if set_per == "release" else "group",
        groups=groups,
        devices=devices,
        force=force,
        base_url=base_url,
    )
    r = outcome.result
    lines = [
        f"Imported {r.imported} device(s) into {len(r.sets)} DeploymentSet(s); "
        f"{len(r.skipped)} left out (see {adopt.NOT_IMPORTED}).",
        f"{len(outcome.written)} file(s) written to {path}; {outcome.requests} request(s).",
    ]
    if r.secrets:
        lines.append(
            f"{len(r.secrets)} config file(s) hold secret fields; keep them out of a shared "
            f"repository or encrypt them: {', '.join(r.secrets)}"
        )
    lines.append("Next: `reconcile plan " + str(path) + "` should show no changes.")
    click.echo(terminal_lines("\n".join(lines) + "\n", limit=None), nl=False)
    return 0
