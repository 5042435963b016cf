"""`reconcile apply` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("apply")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile apply is not implemented yet")
