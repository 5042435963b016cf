"""`reconcile apply`: execute a plan as progressive rollouts.

From a saved plan (`--plan FILE`, exactly what was reviewed) or a fresh plan that is shown
and confirmed first. `--promote` continues rollouts paused after a healthy canary wave.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler import asyncrun, strategies
from reconciler.apply import control
from reconciler.apply import record as rec
from reconciler.apply.abort import abort_revert, aborted_set
from reconciler.apply.executor import ApplyResult, blocked_changes, blocked_ledger, execute
from reconciler.apply.ledger import counts, render_text
from reconciler.apply.limits import check_blast_radius
from reconciler.apply.progress import reporter
from reconciler.commands.options import parallelism_option, selection, selection_options
from reconciler.commands.sealed import unseal
from reconciler.commands.wiring import describe_target, normalize_url, session
from reconciler.errors import EXIT_OK, Location, Problem, ReconcileError, ValidationFailed
from reconciler.escape import LINE_LIMIT, terminal
from reconciler.manifests import schema_check, yamlload
from reconciler.manifests.loader import load_path
from reconciler.model.control import Control
from reconciler.model.enums import ControlKind
from reconciler.model.plan import FORMAT_VERSION, Plan
from reconciler.model.project import Project
from reconciler.output import stderr_console
from reconciler.plan.rollout_state import resume_command
from reconciler.plan.selection import Selection, narrow_plan
from reconciler.platform.client import DEFAULT_CONCURRENCY

OUTPUT_FORMAT = 1


def read_plan(path: Path, project: Project, base_url: str | None) -> Plan:
    """A saved plan, refused when it was made for another format or another platform."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ReconcileError(f"cannot read the plan: {e.strerror}", location=Location(str(path))) from None
    except json.JSONDecodeError as e:
        raise ReconcileError(
            f"not a JSON plan: {e.msg}", location=Location(str(path), e.lineno, e.colno)
        ) from None
    if not isinstance(data, dict) or "format_version" not in data or "changes" not in data:
        raise ReconcileError("not a plan file (no format_version/changes)", location=Location(str(path)))
    if data["format_version"] != FORMAT_VERSION:
        raise ReconcileError(
            f"plan format_version {data['format_version']} is not {FORMAT_VERSION}",
            location=Location(str(path)),
            hint="make the plan again with this version",
        )
    _check_shape(path, data)
    target = describe_target(project, base_url)
    if normalize_url(str(data.get("target"))) != target:
        raise ReconcileError(
            f"the plan was made for {data.get('target')!r}, not {target!r}",
            location=Location(str(path)),
            hint="plan again against this target",
        )
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise ReconcileError(f"malformed plan: {e}", location=Location(str(path))) from None


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    """A hand-edited or damaged plan fails against `schemas/plan.schema.json` with the
    file:line:col of every problem, before anything is written. The file is parsed again
    for positions only when it is wrong (the fast path is one validation)."""
    if next(schema_check.validator("plan.schema.json").iter_errors(data), None) is None:
        found = [
            (("rollouts", name, "spec", *key), message)
            for name, rollout in sorted(data["rollouts"].items())
            for key, message in strategies.spec_problems(rollout["spec"])
        ]
        if not found:
            return
    docs, problems = yamlload.load_documents(path.read_bytes(), str(path))
    if docs and not problems:
        problems = schema_check.check(docs[0], "plan.schema.json") or [
            Problem(f"{'.'.join(key)}: {message}", docs[0].loc(key)) for key, message in found
        ]
    raise ValidationFailed(problems or [Problem("not a valid plan", Location(str(path)))])


def result_json(
    results: list[ApplyResult], target: str, controls: tuple[Control, ...] = ()
) -> dict[str, Any]:
    ledger = [e for r in results for e in r.ledger]
    code = max((r.exit_code for r in results), default=EXIT_OK)
    return {
        "format_version": OUTPUT_FORMAT,
        **({"controls": [c.to_dict() for c in controls]} if controls else {}),
        "target": target,
        "rollouts": [x.to_dict() for r in results for x in r.records],
        "ledger": [e.to_dict() for e in ledger],
        "summary": counts(ledger),
        "blocked": [
            {
                "device": c.device,
                "deployment_set": c.deployment_set,
                "reason": c.reason or "",
                "reason_code": c.reason_code,
            }
            for r in results
            for c in r.blocked
        ],
        "requests": sum(r.requests for r in results),
        "lost_instances": [x.to_dict() for r in results for x in r.lost_instances],
        "exit_code": code,
    }


def result_text(results: list[ApplyResult]) -> str:
    lines: list[str] = []
    for r in results:
        for x in r.records:
            s = x.status
            lines.append(
                f"Rollout {x.id} ({terminal(x.deployment_set)}, {x.spec.strategy}): {s.state}, "
                f"{s.updated_nodes}/{s.total_nodes} updated, {s.failed_nodes} failed"
                + (f" - {terminal(s.message, LINE_LIMIT)}" if s.message else "")
            )
    ledger = [e for r in results for e in r.ledger]
    lines.append(render_text(ledger))
    blocked = [c for r in results for c in r.blocked]
    if blocked:
        lines.append(f"{len(blocked)} of them blocked in the plan, not touched (see `reconcile plan`).")
    lines += [
        terminal(x.message(), LINE_LIMIT) for r in results for x in r.lost_instances
    ]  # ids are the platform's
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Flags:
    promote: bool = False
    retry_failed: bool = False
    force: bool = False
    fresh: bool = True  # the plan was made just now (its control records are current)
    resume_paused: bool = False  # `--promote --set`: clear a person's pause of the chosen sets
    parallelism: int = DEFAULT_CONCURRENCY


async def _run(
    project: Project, plans: list[Plan], base_url: str | None, flags: Flags, interactive: bool, quiet: bool
) -> list[ApplyResult]:
    results = []
    async with session(project, base_url, parallelism=flags.parallelism) as wired:
        for plan in plans:
            plan, resumed = await control.clear(
                plan,
                wired.platform,
                project.root,
                fresh=flags.fresh,
                resume_paused=flags.resume_paused,
                retry_failed=flags.retry_failed,
                force=flags.force,
            )
            for note in resumed:
                click.echo(terminal(note, LINE_LIMIT), err=True)
            results.append(
                await execute(
                    plan,
                    wired.platform,
                    root=project.root,
                    clock=wired.clock,
                    promote=flags.promote,
                    retry_failed=flags.retry_failed,
                    force=flags.force,
                    reporter=reporter(interactive=interactive, quiet=quiet),
                )
            )
    return results


async def _fresh_plan(
    project: Project,
    path: Path,
    base_url: str | None,
    chosen: Selection,
    parallelism: int = DEFAULT_CONCURRENCY,
) -> Plan:
    from reconciler.commands.planning import make_plan
    from reconciler.gitsource import head_commit

    async with session(project, base_url, parallelism=parallelism) as wired:
        return await make_plan(project, wired, commit=head_commit(path), selection=chosen)


def interrupted(project: Project, path: Path, plans: list[Plan]) -> ReconcileError:
    """Ctrl-C during apply: which rollouts were left in flight, and the exact command that
    resumes them (a rerun of the same plan continues each from its record)."""
    left: list[rec.RolloutRecord] = []
    for plan in plans:
        digest = rec.plan_digest(plan)
        for name, rollout in sorted(plan.rollouts.items()):
            record = rec.load(project.root, rollout.id or rec.rollout_id(digest, name))
            if record is not None and record.status.state in ("pending", "in_progress"):
                left.append(record)
    if not left:
        return ReconcileError("interrupted before any rollout started: nothing is in flight")
    shown = ", ".join(
        f"{r.id} ({terminal(r.deployment_set)}, wave {r.status.current_wave}/{r.status.total_waves})"
        for r in left
    )
    files = sorted({r.plan_file for r in left})
    commands = " and ".join(f"`reconcile apply {path} --plan {path / f} --auto-approve`" for f in files)
    return ReconcileError(
        f"interrupted: rollout{'s' if len(left) != 1 else ''} left in flight: {shown}",
        hint=f"resume with {commands} (devices already updated are not written again)",
    )


def warn_no_commit(path: Path, *, saved: bool) -> None:
    """Deployments name the commit they came from; without one they carry `commit=none`
    and nobody can trace them to a change. Say so, and why, before anything is written."""
    from reconciler.gitsource import why_no_commit

    why = (
        "the plan was made without a commit (uncommitted changes, or outside git)"
        if saved
        else (why_no_commit(path) or "no commit")
    )
    click.echo(  # file names are the repository's: escaped for the terminal
        f"warning: deployments will carry commit=none: {terminal(why, LINE_LIMIT)}; commit the manifests (and plan again) "
        "so each deployment names the commit it came from",
        err=True,
    )


def saved_plan(plan_file: Path, path: Path, project: Project, base_url: str | None) -> Plan:
    """A saved plan, its sealed (secret) contents read again from the manifests."""
    return asyncrun.run(unseal(read_plan(plan_file, project, base_url), path, project, base_url))


def promotable(plan: Plan, chosen: Selection) -> Plan:
    """`--promote` continues what the platform shows paused: sets whose strategy would pause
    before its next wave, and sets a person paused when `--set` names them (never all at once
    by accident). Nothing paused is an error, not a silent success."""
    if any(
        strategies.awaiting_promotion(r) or (r.control is not None and chosen.sets and r.devices)
        for r in plan.rollouts.values()
        if r.control is None or r.control.kind is ControlKind.PAUSE
    ):
        return plan
    paused = [(n, r.control) for n, r in sorted(plan.rollouts.items()) if r.control is not None and r.devices]
    if paused and not chosen.sets:
        name, c = paused[0]
        raise ReconcileError(
            f"no rollout paused by its canaries to promote; DeploymentSet {name!r} was {c.words()}",
            hint=f"a person's pause is resumed by naming the set: {resume_command(name)}",
        )
    raise ReconcileError(
        "no paused rollout to promote", hint="`reconcile status` shows the rollouts on the platform"
    )


def _control(
    project: Project, path: Path, base_url: str | None, name: str, kind: ControlKind, fmt: str, confirm: bool
) -> int:
    """`--pause SET`, `--abort SET --keep`: a control record on the platform, nothing else."""
    plan = asyncrun.run(_fresh_plan(project, path, base_url, Selection()))
    rollout = control.target(plan, name, kind)
    verb = "pause" if kind is ControlKind.PAUSE else "abort (and keep as they are)"
    if (
        rollout is not None
        and confirm
        and not click.confirm(
            f"{verb.capitalize()} {terminal(name)}'s rollout {plan.rollouts[name].id}?", default=False
        )
    ):
        raise ReconcileError(f"not {'paused' if kind is ControlKind.PAUSE else 'aborted'}")

    async def go(rid: str) -> Control:
        async with session(project, base_url) as wired:
            return await control.record(wired.platform, project.root, name, rid, kind)

    written = asyncrun.run(go(rollout.id)) if rollout is not None else None
    record = written or plan.rollouts[name].control
    assert record is not None
    if fmt == "json":
        click.echo(json.dumps(result_json([], plan.target, (record,)), indent=2))
        return EXIT_OK
    r = plan.rollouts[name]
    said = "already " if written is None else ""
    click.echo(f"DeploymentSet {terminal(name)}: rollout {r.id} {said}{terminal(record.words())}.")
    if kind is ControlKind.PAUSE:
        click.echo(
            f"A run in flight starts no more devices (those updating finish their health check); "
            f"{len(r.done)} device(s) run it, {len(r.devices)} wait. Resume with {resume_command(name)}."
        )
    else:
        click.echo(
            f"A run in flight starts no more devices; {len(r.done)} device(s) keep it, {len(r.devices)} are left "
            "as they are. Later applies leave this content alone unless --retry-failed or --force, or it changes."
        )
    return EXIT_OK


def _abort(
    project: Project,
    path: Path,
    plan_file: Path | None,
    base_url: str | None,
    name: str | None,
    keep: bool,
    revert: bool,
    fmt: str,
    confirm: bool,
) -> int:
    if name is None:
        raise ReconcileError(
            "--keep and --revert go with --abort SET", hint="`reconcile apply --abort SET --keep`"
        )
    if keep == revert:
        raise ReconcileError(
            "--abort SET needs exactly one of --keep (leave the devices as they are) or --revert "
            "(roll the set's devices back)",
            hint="`reconcile apply --abort SET --keep` or `reconcile apply --abort SET --revert`",
        )
    if keep:
        return _control(project, path, base_url, name, ControlKind.ABORT_KEEP, fmt, confirm)
    plan = (
        read_plan(plan_file, project, base_url)
        if plan_file
        else asyncrun.run(_fresh_plan(project, path, base_url, Selection()))
    )
    aborted_set(plan, name)
    question = f"Roll back the {len(plan.rollouts[name].done)} device(s) that run {terminal(name)}'s rollout?"
    if confirm and not click.confirm(question, default=False):
        raise ReconcileError("not aborted")

    async def go() -> ApplyResult:
        async with session(project, base_url) as wired:
            # Recorded first: a run in flight on this set starts no more devices.
            await control.record(
                wired.platform, project.root, name, plan.rollouts[name].id, ControlKind.ABORT_REVERT
            )
            return ApplyResult(records=(), ledger=await abort_revert(plan, wired.platform, name))

    result = asyncrun.run(go())
    if fmt == "json":
        click.echo(json.dumps(result_json([result], plan.target), indent=2))
    else:
        n = sum(1 for e in result.ledger if e.state == "rolled_back")
        click.echo(f"Aborted {terminal(name)}'s rollout {plan.rollouts[name].id}: rolled back {n} device(s).")
        click.echo(render_text(list(result.ledger)))
    return EXIT_OK if all(e.state == "rolled_back" for e in result.ledger) else result.exit_code


@click.command("apply")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply this saved plan (from `reconcile plan --out`) instead of planning now.",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation (required without a TTY).")
@click.option(
    "--promote",
    is_flag=True,
    help="Continue rollouts paused after a healthy canary wave; with --set, also those a person paused (--pause).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Roll out again content that failed and was rolled back (held back otherwise).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Apply even while another apply is rolling out to the same DeploymentSet.",
)
@click.option(
    "--allow-large",
    type=click.IntRange(min=1),
    metavar="N",
    help="Accept changing up to N devices when the plan changes more than limits.max_devices_per_apply.",
)
@click.option(
    "--abort",
    "abort_set",
    metavar="SET",
    help="Stop SET's rollout (recorded on the platform): with --keep its devices stay as they are; with "
    "--revert every device that runs it goes back to its previous deployment.",
)
@click.option("--revert", is_flag=True, help="With --abort: roll the set's devices back (the rollback path).")
@parallelism_option
@click.option("--keep", is_flag=True, help="With --abort: leave the set's devices as they are (no rollback).")
@click.option(
    "--pause",
    "pause_set",
    metavar="SET",
    help="Pause SET's rollout (recorded on the platform): no device more is started, here or in a "
    "run in flight, until `apply --promote --set SET`.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--base-url", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL).")
@selection_options
def command(
    path: Path,
    plan_file: Path | None,
    auto_approve: bool,
    promote: bool,
    retry_failed: bool,
    force: bool,
    allow_large: int | None,
    abort_set: str | None,
    revert: bool,
    keep: bool,
    pause_set: str | None,
    parallelism: int,
    fmt: str,
    base_url: str | None,
    sets: tuple[str, ...],
    devices: tuple[str, ...],
) -> int:
    """Apply the plan for PATH: config instances, then one rollout per DeploymentSet in
    waves, then archives of the staged deployments it replaces.

    \b
    Strategies (each set's `rollout`):
      immediate  every device at once; done when deployed (no healthy wait)
      rolling    a sliding window of max_parallel devices in flight
      canary     canary_count (or canary_percent) devices first; then auto_promote,
                 or pause until `reconcile apply --promote`
    Healthy: deployed, and still so after min_healthy_time. Failed: the agent reported
    failure, or not deployed by the deadline while online. Offline devices are deferred
    (their deployment queues), not failed. Crossing the failure budget (max_failed_nodes,
    max_failed_nodes_percent, max_error_rate; any failed canary) stops the rollout and rolls
    back every device that took it, unless no_auto_rollback.

    The platform is the state: every deployment carries a marker (set, rollout, wave,
    commit) in its description, so an apply from any clone resumes, promotes or holds back
    what earlier runs left. A rollout is named by its set and content; content that failed
    and was rolled back is held back until it changes (or --retry-failed). Another apply
    rolling out to the same set makes this one refuse (unless --force). A copy of each
    rollout's record is kept in .reconcile/rollouts/ as a log. Ctrl-C names the rollouts
    left in flight and the command that resumes them. The ledger lists every device: succeeded, failed,
    rolled back, deferred, stale (changed since the plan) or not attempted (blocked devices
    last).

    \b
    Exit codes:
      0  every device succeeded or was deferred; a healthy canary pause; devices blocked
         only for having no agent (never enrolled, archived); nothing to apply
      1  anything else: a device failed, rolled back, stale, not attempted, or blocked by
         the manifests (bad content, unknown release, drift to review); bad input
    Details: docs/apply.md."""
    if not path.exists():
        raise ReconcileError(f"{path}: no such directory")
    confirm = not auto_approve and not promote
    if confirm and not sys.stdin.isatty():
        raise ReconcileError(
            "refusing to apply without confirmation: stdin is not a terminal",
            hint="review the plan, then pass --auto-approve",
        )
    chosen = selection(sets, devices)
    project = load_path(path)
    if pause_set is not None and (abort_set is not None or keep or revert):
        raise ReconcileError("--pause and --abort are separate requests: give one")
    if pause_set is not None:
        return _control(project, path, base_url, pause_set, ControlKind.PAUSE, fmt, confirm)
    if abort_set is not None or revert or keep:
        return _abort(project, path, plan_file, base_url, abort_set, keep, revert, fmt, confirm)
    plan = _plan_to_apply(project, path, plan_file, base_url, chosen, parallelism)
    if promote:
        plans = [promotable(plan, chosen)]
    else:
        if plan.has_changes and plan.commit is None:
            warn_no_commit(path, saved=plan_file is not None)
        if not plan.has_changes:
            return _nothing_to_apply(plan, fmt)
        if confirm or not plan_file:
            _show_plan(plan, fmt)
        check_blast_radius(plan, project.max_devices_per_apply, allow_large)
        if confirm and not click.confirm("Apply this plan?", default=False):
            raise ReconcileError("not applied")
        plans = [plan]
    # A bar redrawn in place needs a real terminal; a dumb one (Emacs shell, some CI) gets lines.
    interactive = sys.stderr.isatty() and os.environ.get("TERM") != "dumb" and fmt == "text"
    flags = Flags(
        promote=promote,
        retry_failed=retry_failed,
        force=force,
        fresh=plan_file is None,
        resume_paused=promote and bool(chosen.sets),
        parallelism=parallelism,
    )
    try:
        results = asyncrun.run(_run(project, plans, base_url, flags, interactive, quiet=False))
    except KeyboardInterrupt:
        raise interrupted(project, path, plans) from None
    if fmt == "json":
        click.echo(json.dumps(result_json(results, describe_target(project, base_url)), indent=2))
    else:
        click.echo(result_text(results), nl=False)
    return max((r.exit_code for r in results), default=EXIT_OK)


def _plan_to_apply(
    project: Project,
    path: Path,
    plan_file: Path | None,
    base_url: str | None,
    chosen: Selection,
    parallelism: int,
) -> Plan:
    """The saved plan narrowed to the selection, or a fresh one of the selection."""
    if plan_file:
        return narrow_plan(saved_plan(plan_file, path, project, base_url), chosen)
    return asyncrun.run(_fresh_plan(project, path, base_url, chosen, parallelism))


def _nothing_to_apply(plan: Plan, fmt: str) -> int:
    blocked = blocked_changes(plan)
    nothing = ApplyResult(records=(), ledger=blocked_ledger(blocked), blocked=blocked)
    if fmt == "json":
        click.echo(json.dumps(result_json([nothing], plan.target), indent=2))
    elif nothing.exit_code == EXIT_OK:
        noted = f" ({len(blocked)} device(s) blocked in the plan: see `reconcile plan`.)" if blocked else ""
        click.echo("No changes. The platform matches the manifests." + noted)
    else:
        click.echo("No changes can be applied.\n" + result_text([nothing]), nl=False)
    return nothing.exit_code


def _show_plan(plan: Plan, fmt: str) -> None:
    """The plan before it is applied: on stdout, or on stderr when stdout carries JSON."""
    from reconciler.plan.render_text import render_text as render_plan

    text = render_plan(plan)
    if fmt == "json":
        stderr_console().print(text, end="", markup=False)
    else:
        click.echo(text, nl=False)
