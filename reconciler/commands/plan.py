"""`reconcile plan`: what would change on which device, and why."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from reconciler import asyncrun
from reconciler.commands.options import parallelism_option, selection, selection_options
from reconciler.commands.planning import make_plan
from reconciler.commands.wiring import session
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ReconcileError, redact
from reconciler.escape import json_text, terminal_lines
from reconciler.files import atomic_write
from reconciler.gitsource import head_commit, iter_sources
from reconciler.manifests.loader import PROJECT_FILE, load_path, load_project
from reconciler.manifests.source import SourceError
from reconciler.model.plan import Plan
from reconciler.model.project import EmulatorTarget, Project
from reconciler.output import is_interactive, stderr_console
from reconciler.plan.groups import sample
from reconciler.plan.render_markdown import LIMIT, render_markdown
from reconciler.plan.render_text import render_text
from reconciler.plan.selection import EVERYTHING, Selection
from reconciler.platform.client import DEFAULT_CONCURRENCY
from reconciler.platform.live import Progress


def load_at(path: Path, ref: str | None) -> tuple[Project, str | None]:
    """The project at PATH (working tree) or at a git ref, and the commit it is."""
    if ref is None:
        return load_path(path), head_commit(path)
    source = next(iter_sources(path, [ref]))
    return load_project(source, path), source.sha


def load_base(path: Path, ref: str) -> Project:
    """The project at the `--base` ref. None there (the branch adds the project) is an empty
    project, so every change is this branch's."""
    source = next(iter_sources(path, [ref]))
    try:
        source.read_bytes(PROJECT_FILE)
    except SourceError:
        return Project(root=path, target=EmulatorTarget())
    return load_project(source, path, require_sets=False)


@contextmanager
def live_progress() -> Iterator[Progress | None]:
    """Rich progress bars on a TTY while live state is read; nothing otherwise (stdout
    stays clean for --format json)."""
    # Progress goes to stderr, so it may show even when stdout is redirected (--format json > f).
    if not (is_interactive() or (sys.stderr.isatty() and os.environ.get("TERM") != "dumb")):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr_console(),
        transient=True,
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bars.add_task(what, total=total)
                bars.update(tasks[what], completed=done)
            else:
                bars.update(tasks[what], advance=done, total=max(total, 1))

        yield update


def write_plan(path: Path, text: str) -> None:
    """Write the whole plan or nothing (a plan file half-written must never be applied)."""
    if path.parent.exists() and not path.parent.is_dir():
        raise ReconcileError(f"{path}: cannot write the plan: {path.parent} is not a directory")
    try:
        atomic_write(path, text)
    except OSError as e:  # a path that cannot be written is the user's to fix
        raise ReconcileError(f"{path}: cannot write the plan: {e.strerror or e}") from None


def plan_json(plan: Plan) -> str:
    return json_text(plan.to_dict()) + "\n"


async def build(
    path: Path,
    ref: str | None,
    base_ref: str | None,
    base_url: str | None,
    chosen: Selection = EVERYTHING,
    parallelism: int = DEFAULT_CONCURRENCY,
) -> Plan:
    project, commit = load_at(path, ref)
    base = load_base(path, base_ref) if base_ref else None
    with live_progress() as progress:
        async with session(project, base_url, parallelism=parallelism) as wired:
            return await make_plan(
                project, wired, base=base, commit=commit, progress=progress, selection=chosen
            )


@click.command("plan")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan as JSON for `reconcile apply`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when none.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Name every device of each line (default: the first 5) and the devices no DeploymentSet selects.",
)
@click.option("--ref", metavar="REF", help="Plan the manifests at this git ref (no checkout).")
@click.option(
    "--base",
    "base_ref",
    metavar="REF",
    help="Mark each changed field as this branch's [change] or pre-existing [drift] (the manifests "
    "at REF want it too); a device with both is [change + drift]. Blocked devices get no mark.",
)
@click.option(
    "--base-url", metavar="URL", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL)."
)
@click.option(
    "--full-plan-note",
    default=None,
    metavar="TEXT",
    help="Markdown: where readers find the full plan when the comment is cut "
    '(e.g. "the workflow artifact `reconcile-plan`"); default: the --out file.',
)
@click.option(
    "--max-chars",
    default=LIMIT,
    show_default=True,
    metavar="N",
    type=click.IntRange(min=2000),
    help="Markdown: the most characters (UTF-16 units, as GitHub counts) the plan may take; "
    "less than GitHub's comment limit leaves room for text around it.",
)
@parallelism_option
@selection_options
def command(
    path: Path,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    verbose: bool,
    ref: str | None,
    base_ref: str | None,
    base_url: str | None,
    full_plan_note: str | None,
    max_chars: int,
    parallelism: int,
    sets: tuple[str, ...],
    devices: tuple[str, ...],
) -> int:
    """Compare the manifests in PATH with the platform and print what would change.

    Exit 1 (after printing the plan) when a device is blocked by an error in the manifests
    (unknown release, config type or device, missing slot, invalid content) or by a drifted
    deployment to review; a device blocked only for having no agent (never enrolled,
    archived) is not an error."""
    if not path.exists():
        raise ReconcileError(f"{path}: no such directory")
    plan = asyncrun.run(build(path, ref, base_ref, base_url, selection(sets, devices), parallelism))
    if out is not None:
        write_plan(out, plan_json(plan))
    if fmt == "json":
        click.echo(plan_json(plan), nl=False)
    elif fmt == "markdown":
        here = f"the JSON of `reconcile plan {path} --format json` (save it with `--out FILE`)"
        note = full_plan_note or (f"`{out}`" if out else here)
        # Human formats are redacted (a key pasted into config content stays out of PR
        # comments and logs); JSON stays exact because apply uploads that content.
        click.echo(
            terminal_lines(
                redact(render_markdown(plan, full_plan=note, limit=max_chars, verbose=verbose)), limit=None
            ),
            nl=False,
        )
    else:
        click.echo(
            terminal_lines(redact(render_text(plan, sample_size=None if verbose else 5)), limit=None),
            nl=False,
        )
    broken = manifest_blocked(plan)
    if broken:
        # After the plan, so the reviewer sees it; an error, so no gate reads it as "nothing to do".
        n = len(broken)
        click.echo(
            redact(
                f"error: {n} device{'s' if n != 1 else ''} blocked by errors in the manifests or by "
                f"drift to review (see the plan's exceptions; `reconcile validate --online` shows "
                f"where a manifest is wrong): {terminal_lines(sample(broken, 10), limit=None)}"
            ),
            err=True,
        )
        return EXIT_ERROR
    if detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def manifest_blocked(plan: Plan) -> list[str]:
    """Devices blocked by a mistake in the manifests (unknown release, config type or device,
    missing slot, invalid content) or a drifted deployment a person must review: the blocks
    that fail `apply` too. A device with no agent (never enrolled, archived) is not one."""
    return [
        c.device for c in plan.changes if c.action == "blocked" and c.reason_code and c.reason_code.fails_run
    ]
