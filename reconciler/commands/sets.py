"""`reconcile sets`: the project's DeploymentSets, one entry per set, for a CI matrix that
plans and applies each set in its own job (`reconcile plan --set NAME`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler import asyncrun
from reconciler.errors import EXIT_OK, ReconcileError
from reconciler.escape import json_text, terminal
from reconciler.manifests.loader import load_path
from reconciler.model.project import DeploymentSet, Project, Selector

SETS_FORMAT = 1


def selector_dict(s: Selector) -> dict[str, Any]:
    """The selector as written: only the keys it uses."""
    out: dict[str, Any] = {
        k: list(v) for k, v in (("groups", s.groups), ("devices", s.devices), ("patterns", s.patterns)) if v
    }
    exclude = {
        k: list(v)
        for k, v in (
            ("groups", s.exclude_groups),
            ("devices", s.exclude_devices),
            ("patterns", s.exclude_patterns),
        )
        if v
    }
    if exclude:
        out["exclude"] = exclude
    return out


def _entry(ds: DeploymentSet, counts: dict[str, int] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": ds.name,
        "file": ds.location.file if ds.location else None,
        "selector": selector_dict(ds.selector),
        "release": ds.release,
        "strategy": ds.rollout.strategy,
    }
    if counts is not None:
        entry["devices"] = counts.get(ds.name, 0)
    return entry


async def device_counts(project: Project, base_url: str | None) -> dict[str, int]:
    """Devices per set, as the platform's groups and names resolve the selectors (no
    deployments are read)."""
    from reconciler.commands.planning import read_for
    from reconciler.commands.wiring import session
    from reconciler.plan.build import resolved

    async with session(project, base_url) as wired:
        live = await read_for(project, wired.platform, deployments=False)
    counts: dict[str, int] = {}
    for dd in resolved(project, live).devices:
        counts[dd.deployment_set] = counts.get(dd.deployment_set, 0) + 1
    return counts


def _selector_words(selector: dict[str, Any]) -> str:
    parts = [f"{k}: {', '.join(v)}" for k, v in selector.items() if k != "exclude"]
    parts += [f"exclude {k}: {', '.join(v)}" for k, v in selector.get("exclude", {}).items()]
    return "; ".join(parts)


@click.command("sets")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--online", is_flag=True, help="Also count each set's devices on the platform (reads only).")
@click.option(
    "--base-url", help="Platform base URL for --online (overrides reconcile.yaml; env MIRU_BASE_URL)."
)
def command(path: Path, fmt: str, online: bool, base_url: str | None) -> int:
    """List the DeploymentSets in PATH: name, selector, release, strategy (and with --online
    the number of devices each selects). `--format json` feeds a GitHub Actions matrix:

    \b
      names=$(reconcile sets --format json | jq -c '[.sets[].name]')
      # strategy.matrix.set: ${{ fromJSON(needs.sets.outputs.names) }}
      reconcile plan --set "$SET"
    """
    if not path.exists():
        raise ReconcileError(f"{path}: no such directory")
    project = load_path(path)
    counts = asyncrun.run(device_counts(project, base_url)) if online else None
    entries = [_entry(ds, counts) for ds in sorted(project.sets, key=lambda s: s.name)]
    if fmt == "json":
        click.echo(json_text({"format_version": SETS_FORMAT, "sets": entries}))
        return EXIT_OK
    for e in entries:
        count = f"  ({e['devices']} device{'s' if e['devices'] != 1 else ''})" if counts is not None else ""
        click.echo(
            f"{terminal(e['name'])}  {terminal(_selector_words(e['selector']))}  "
            f"release {terminal(e['release'])}  {e['strategy']}{count}"
        )
    return EXIT_OK
