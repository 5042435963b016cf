"""`reconcile status`: the latest rollouts recorded under `.reconcile/rollouts/`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.apply import record as rec
from reconciler.errors import EXIT_OK, ReconcileError

STATUS_FORMAT = 1


@click.command("status")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", default=10, show_default=True, help="How many rollouts to show (newest first).")
def command(path: Path, fmt: str, limit: int) -> int:
    """Show the latest rollouts of the project in PATH (newest first).

    States follow the platform's rollout object: pending, in_progress, paused (healthy canaries waiting for
    `reconcile apply --promote`), completed, failed (stopped by the failure budget; see the
    message for what was rolled back), canceled (superseded by a newer plan for the same
    DeploymentSet before it finished, e.g. after a crash). A rollout still in_progress
    with no apply running was interrupted: rerun its saved plan to resume it."""
    if not path.is_dir():
        raise ReconcileError(f"{path}: no such directory")
    records, unreadable = rec.read_records(path)
    records = records[: max(0, limit)]
    for e in unreadable:  # shown, not fatal: one damaged file must not hide the other rollouts
        click.echo(e.format_text().replace(": error: ", ": warning: ", 1), err=True)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"format_version": STATUS_FORMAT, "rollouts": [r.to_dict() for r in records]}, indent=2
            )
        )
        return EXIT_OK
    if not records:
        click.echo("No rollouts yet (`reconcile apply` records them in .reconcile/rollouts/).")
        return EXIT_OK
    for r in records:
        s = r.status
        versions = r.to_version if r.from_version == r.to_version else f"{r.from_version} -> {r.to_version}"
        click.echo(
            f"{r.id}  {r.deployment_set}  {s.state}  {r.spec.strategy}  wave {s.current_wave}/"
            f"{s.total_waves}  {s.updated_nodes}/{s.total_nodes} updated, {s.failed_nodes} failed  "
            f"{versions}  commit={(r.commit or 'none')[:12]}  {s.created_at}"
        )
        if s.message:
            click.echo(f"    {s.message}")
        if s.state in ("pending", "in_progress"):
            # A record cannot tell a running apply from one that died: say how to resume.
            click.echo(
                f"    last progress {s.last_progress_time or s.updated_at}; if no apply is running, "
                f"resume with `reconcile apply {path} --plan {path / r.plan_file} --auto-approve`"
            )
        elif s.state == "paused":
            click.echo(f"    continue with `reconcile apply {path} --promote`")
    return EXIT_OK
