"""`reconcile validate [PATH] [--format text|json|github] [--online]`: every problem in the
manifests. Offline it needs no platform; `--online` adds the checks that do (names exist,
content valid against the release's schemas). Exit 0 when valid (warnings allowed), 1 when not."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import asyncrun
from reconciler.errors import EXIT_ERROR, Location, Problem, ReconcileError, ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.manifests.report import relative_root, render_github, render_json, render_text
from reconciler.model.project import Project


def collect_problems(path: Path) -> tuple[Project | None, list[Problem]]:
    """Load the project at `path`; the project, or every problem found."""
    try:
        return load_path(path), []
    except ValidationFailed as e:
        return None, list(e.problems)
    except ReconcileError as e:
        return None, [Problem(e.message, e.location or Location(str(path.absolute())))]


async def online_checks(project: Project, base_url: str | None) -> list[Problem]:
    # Imported here: offline validation must not pay for (or depend on) the platform client.
    from reconciler.commands.planning import online_problems
    from reconciler.commands.wiring import session

    async with session(project, base_url) as wired:
        return await online_problems(project, wired.platform)


@click.command("validate")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text on stderr; json (schemas/validate-output.schema.json) or GitHub annotations on stdout.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Also check against the platform: groups, devices, releases and config types exist, "
    "every override device or pattern matches a device of its set, content is valid for the "
    "release's schemas. Reads only.",
)
@click.option(
    "--base-url", help="Platform base URL for --online (overrides reconcile.yaml; env MIRU_BASE_URL)."
)
@click.pass_context
def command(ctx: click.Context, path: Path, fmt: str, online: bool, base_url: str | None) -> None:
    """Check the project in PATH (default: the current directory): reconcile.yaml, every
    DeploymentSet and the config files they reference. Reports every problem, not the first."""
    root = relative_root(path)
    project, problems = collect_problems(path)
    if online and project is not None:
        try:
            problems = asyncrun.run(online_checks(project, base_url))
        except ReconcileError as e:
            # Reported like any problem, so --format json/github output stays well-formed.
            message = e.message + (f" ({e.hint})" if e.hint else "")
            problems = [Problem(message, e.location or Location(project.project_file))]
    errors = [p for p in problems if p.severity == "error"]
    if fmt == "json":
        click.echo(render_json(problems, root))
    elif fmt == "github":
        if problems:
            click.echo(render_github(problems, root))
    elif problems:
        click.echo(render_text(problems, root), err=True)
    if errors:
        n = len(errors)
        if fmt == "text":
            click.echo(f"{n} problem{'s' if n != 1 else ''} found", err=True)
        ctx.exit(EXIT_ERROR)
    if fmt == "text" and project is not None:
        n = len(project.sets)
        click.echo(
            f"{path}: valid ({n} DeploymentSet{'s' if n != 1 else ''})"
            + (", checked against the platform" if online else "")
        )
