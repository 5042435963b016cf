"""`reconcile status` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("status")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile status is not implemented yet")
