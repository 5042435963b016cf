"""`reconcile import`: write a project from the live fleet (reads only), so adopting a fleet
that is already deployed starts from a plan with no changes. The files come from the pure
`plan/adopt/`; `import_run` reads the platform (through `import_source`) and writes them; this
module is the command."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands.import_run import Outcome, run_import
from reconciler.escape import terminal_lines
from reconciler.plan import adopt


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
    click.echo(terminal_lines(_summary(outcome, path), limit=None), nl=False)
    return 0


def _summary(outcome: Outcome, path: Path) -> str:
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
    return "\n".join(lines) + "\n"
