"""`reconcile drift` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("drift")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile drift is not implemented yet")
