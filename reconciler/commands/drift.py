"""`reconcile drift`: devices whose live state differs from the manifests. Exit 2 when any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler import asyncrun
from reconciler.commands.options import parallelism_option, selection, selection_options
from reconciler.commands.plan import live_progress, load_at
from reconciler.commands.planning import plan_with_state
from reconciler.commands.wiring import session
from reconciler.errors import EXIT_CHANGES, EXIT_OK, ReconcileError, redact
from reconciler.escape import json_text, terminal_lines
from reconciler.plan.drift import DriftReport, find_drift, render_drift_text
from reconciler.plan.selection import EVERYTHING, Selection
from reconciler.platform.client import DEFAULT_CONCURRENCY


async def build(
    path: Path,
    ref: str | None,
    base_url: str | None,
    chosen: Selection = EVERYTHING,
    parallelism: int = DEFAULT_CONCURRENCY,
) -> DriftReport:
    project, commit = load_at(path, ref)
    with live_progress() as progress:
        async with session(project, base_url, parallelism=parallelism) as wired:
            plan, _, live = await plan_with_state(
                project, wired, commit=commit, progress=progress, selection=chosen
            )
    return find_drift(plan, live, list(live.failed))


@click.command("drift")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ref", metavar="REF", help="Compare against the manifests at this git ref (no checkout).")
@click.option(
    "--base-url", metavar="URL", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL)."
)
@click.option("-v", "--verbose", is_flag=True, help="List the devices no DeploymentSet selects by name.")
@parallelism_option
@selection_options
def command(
    path: Path,
    fmt: str,
    ref: str | None,
    base_url: str | None,
    verbose: bool,
    parallelism: int,
    sets: tuple[str, ...],
    devices: tuple[str, ...],
) -> int:
    """Report devices whose live state differs from the manifests in PATH (exit 2 when any, or
    when devices no DeploymentSet selects are found and reconcile.yaml says unmanaged: error),
    and the rollouts the platform shows paused (waiting for `reconcile apply --promote`) or held
    back (their content failed and was rolled back)."""
    if not path.exists():
        raise ReconcileError(f"{path}: no such directory")
    report = asyncrun.run(build(path, ref, base_url, selection(sets, devices), parallelism))
    if fmt == "json":
        data: dict[str, Any] = report.to_dict()
        click.echo(json_text(data))
    else:
        click.echo(terminal_lines(redact(render_drift_text(report, verbose=verbose)), limit=None), nl=False)
    return EXIT_CHANGES if report.failing else EXIT_OK
