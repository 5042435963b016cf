"""`reconcile validate` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("validate")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile validate is not implemented yet")
