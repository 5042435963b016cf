"""One `reconcile import`: read the live fleet, generate the project files (`plan/adopt/`), write
them all or none."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from reconciler import asyncrun
from reconciler.commands.import_source import project_file, read, secret_check, source_project
from reconciler.errors import ReconcileError
from reconciler.manifests.loader import PROJECT_FILE
from reconciler.plan import adopt


@dataclass(frozen=True)
class Outcome:
    result: adopt.Result
    requests: int
    cpu_seconds: float  # reading and generating
    generate_cpu_seconds: float  # generating alone (the pure part)
    written: tuple[str, ...]


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
    live = asyncrun.run(read(project, base_url))
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
    cpu, generating = time.process_time() - cpu, time.process_time() - generating
    _write(path, files, force)
    return Outcome(result, live.requests, cpu, generating, tuple(sorted(files)))


def _write(path: Path, files: dict[str, str], force: bool) -> None:
    """Write every file, or none when one exists already (unless `force`)."""
    existing = sorted(rel for rel in files if (path / rel).exists())
    if existing and not force:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise ReconcileError(
            f"{path}: would overwrite {shown}; nothing written", hint="pass --force to overwrite them"
        )
    for rel, text in sorted(files.items()):
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))  # bytes: text content is kept exactly
