"""`reconcile plan` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("plan")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile plan is not implemented yet")
