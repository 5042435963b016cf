"""`reconcile status`: where each DeploymentSet's rollout stands on the platform (from any clone),
then this checkout's local log of rollouts under `.reconcile/rollouts/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from reconciler import asyncrun
from reconciler.apply import ledger
from reconciler.apply import record as rec
from reconciler.commands.options import selection, selection_options
from reconciler.errors import EXIT_OK, ReconcileError
from reconciler.escape import LINE_LIMIT, terminal
from reconciler.manifests.loader import load_path
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.plan.rollout_state import state_of, state_words
from reconciler.plan.selection import Selection

STATUS_FORMAT = 2  # 2: `sets` from the platform; `rollouts` is the local log


async def _plan(project: Project, base_url: str | None, chosen: Selection) -> Plan:
    from reconciler.commands.planning import make_plan
    from reconciler.commands.wiring import session

    async with session(project, base_url) as wired:
        return await make_plan(project, wired, selection=chosen)


def _sets(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "deployment_set": name,
            "rollout": r.id,
            "state": str(state_of(r)),
            "strategy": r.spec.strategy,
            "devices_done": list(r.done),
            "devices_to_update": list(r.devices),
            "canaries": list(r.canaries),
            "held": r.held,
            "control": r.control.to_dict() if r.control else None,
            "notes": list(r.notes),
            "message": state_words(r),
        }
        for name, r in sorted(plan.rollouts.items())
    ]


@click.command("status")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many local rollout records to show (newest first).",
)
@click.option("--base-url", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL).")
@selection_options
def command(
    path: Path, fmt: str, limit: int, base_url: str | None, sets: tuple[str, ...], devices: tuple[str, ...]
) -> int:
    """Show where each DeploymentSet's rollout stands, read from the platform, so every clone
    and every teammate sees the same: unchanged, pending (apply starts it), in_progress (some
    devices run it; apply continues), paused (its canaries run it; `reconcile apply
    --promote` continues; or a person paused it, and `--promote --set SET` continues), aborted (a
    person aborted it and kept its devices; apply leaves it alone until `--retry-failed` or
    `--force`), held (this content failed and was rolled back; apply leaves the set alone until
    the content changes or `--retry-failed`), completed.

    Then this checkout's local log (.reconcile/rollouts/, newest first): what applies run from
    here recorded (pending, in_progress, paused, completed, failed, canceled). It is a log,
    not the state: deleting it changes no outcome."""
    if not path.is_dir():
        raise ReconcileError(f"{path}: no such directory")
    project = load_path(path)
    chosen = selection(sets, devices)
    plan = asyncrun.run(_plan(project, base_url, chosen))
    records, unreadable = rec.read_records(path)
    if chosen.sets:  # the local log of the chosen sets only
        records = [r for r in records if r.deployment_set in plan.rollouts]
    records = records[:limit]
    for e in unreadable:  # shown, not fatal: one damaged file must not hide the other rollouts
        click.echo(e.format_text().replace(": error: ", ": warning: ", 1), err=True)
    if fmt == "json":
        doc = {"format_version": STATUS_FORMAT, "target": plan.target, "sets": _sets(plan)}
        click.echo(json.dumps({**doc, "rollouts": [r.to_dict() for r in records]}, indent=2))
        return EXIT_OK
    click.echo(f"On the platform ({terminal(plan.target)}):")
    for s in _sets(plan):
        message = s["message"] or ("nothing to roll out" if s["state"] == "unchanged" else "apply starts it")
        click.echo(
            f"  {terminal(s['deployment_set'])}  {s['rollout']}  {s['state']}: {terminal(message, LINE_LIMIT)}"
        )
        for note in s["notes"]:
            click.echo(f"    note: {terminal(note, LINE_LIMIT)}")
    click.echo("")
    if not records:
        click.echo("Local log (.reconcile/rollouts/): empty in this checkout.")
        return EXIT_OK
    click.echo("Local log (.reconcile/rollouts/, this checkout only; the platform above is the state):")
    for r in records:
        _echo_record(r)
    return EXIT_OK


def _echo_record(r: rec.RolloutRecord) -> None:
    s = r.status
    versions = r.to_version if r.from_version == r.to_version else f"{r.from_version} -> {r.to_version}"
    click.echo(
        f"  {r.id}  {terminal(r.deployment_set)}  {s.state}  {r.spec.strategy}  wave {s.current_wave}/"
        f"{s.total_waves}  {node_counts(r)}  "
        f"{terminal(versions)}  commit={(r.commit or 'none')[:12]}  {s.created_at}"
    )
    message = shown_message(r)
    if message:
        click.echo(f"      {terminal(message, LINE_LIMIT)}")


def node_counts(r: rec.RolloutRecord) -> str:
    """`5/8 updated, 2 failed, 4 rolled back`: from the devices' ledger when the record has
    one (a rolled-back device did not fail: it was healthy and was taken back)."""
    s = r.status
    if not r.devices:
        return f"{s.updated_nodes}/{s.total_nodes} updated, {s.failed_nodes} failed"
    c = ledger.counts(r.devices)
    rest = [f"{c[k]} {k.replace('_', ' ')}" for k in ("rolled_back", "stale", "deferred") if c[k]]
    return ", ".join([f"{c['succeeded']}/{len(r.devices)} updated", f"{c['failed']} failed", *rest])


def shown_message(r: rec.RolloutRecord) -> str:
    """The record's message; for a completed rollout whose devices are not all done, what is
    left (a deferred device takes the update when it returns; a stale one needs a new plan)."""
    s = r.status
    if s.state != "completed" or not r.devices:
        return s.message
    c = ledger.counts(r.devices)
    left = {k: n for k, n in c.items() if k != "succeeded" and n}
    if not left:
        return s.message
    why = {
        "deferred": "offline, they get the update when they return",
        "stale": "changed since the plan, plan again",
        "not_attempted": "not started",
        "failed": "failed",
        "rolled_back": "rolled back",
    }
    parts = [f"{n} {k.replace('_', ' ')} ({why[k]})" for k, n in left.items()]
    return f"{c['succeeded']} of {len(r.devices)} devices updated; " + ", ".join(parts)
