"""`reconcile emulator` (not yet implemented)."""

from __future__ import annotations

import click

from reconciler.errors import ReconcileError


@click.command("emulator")
def command() -> None:
    """Not yet implemented."""
    raise ReconcileError("reconcile emulator is not implemented yet")
