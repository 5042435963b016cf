"""`reconcile doctor`: read-only probes of a platform account for what Miru's docs leave open,
and the emulator switches (`platform:` in a seed) that answer the same way."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler import asyncrun
from reconciler.commands.wiring import session
from reconciler.errors import EXIT_OK, ReconcileError
from reconciler.escape import terminal
from reconciler.manifests.loader import load_path
from reconciler.platform.account_probe import Report, probe

DOCTOR_FORMAT = 1


async def _run(path: Path, base_url: str | None) -> tuple[str, Report]:
    project = load_path(path)
    async with session(project, base_url) as s:
        return s.platform.target, await probe(s.platform)


@click.command("doctor")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--base-url", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL).")
def command(path: Path, fmt: str, base_url: str | None) -> int:
    """Probe the platform account (reads only) for the behaviours Miru's docs leave open:
    filter separators, expansion forms, sort defaults and tie-breaks, id order, timestamp
    precision, when a device's current deployment switches, and the key's principal. Prints
    what it found and the emulator switches that match. Run it first against a new Miru
    workspace, with the key CI will use."""
    if not path.is_dir():
        raise ReconcileError(f"{path}: no such directory")
    target, report = asyncrun.run(_run(path, base_url))
    switches = report.switches()
    if fmt == "json":
        doc = {
            "format_version": DOCTOR_FORMAT,
            "target": target,
            "principal": report.principal,
            "findings": [{"topic": f.topic, "value": f.value, "detail": f.detail} for f in report.findings],
            "emulator_switches": switches,
        }
        click.echo(json.dumps(doc, indent=2))
        return EXIT_OK
    click.echo(f"Target: {terminal(target)}")
    click.echo(f"Key's principal: {terminal(report.principal)}")
    for f in report.findings:
        detail = f" ({terminal(f.detail)})" if f.detail else ""
        click.echo(f"  {f.topic}: {terminal(f.value)}{detail}")
    if switches:
        pairs = ", ".join(f"{k}: {v}" for k, v in sorted(switches.items()))
        click.echo(f"Emulator switches that match (a seed's platform section): platform: {{{pairs}}}")
    else:
        click.echo("Emulator switches that match: none could be told from reads")
    click.echo("Not told by reads: first_deploy (whether a first deployment may be created deployed).")
    return EXIT_OK
