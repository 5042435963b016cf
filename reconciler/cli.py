"""The `reconcile` command line: one error boundary that maps errors to exit codes.

Commands live in `reconciler/commands/<name>.py`, each exposing a click command;
this module only wires them together.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import EXIT_BUG, EXIT_ERROR, ReconcileError, redact


class _Boundary(click.Group):
    """Maps exceptions to exit codes: ReconcileError -> 1, usage errors -> 1, bugs -> 3."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as e:
            # click uses 2 for usage errors; 2 means "changes present" here.
            e.show()
            sys.exit(EXIT_ERROR)
        except ReconcileError as e:
            click.echo(e.format_text(), err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_ERROR)
        except Exception:
            click.echo(redact(traceback.format_exc()), err=True)
            click.echo("This is a bug in reconcile; please report it with the traceback above.", err=True)
            sys.exit(EXIT_BUG)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def main() -> None:
    """GitOps for robot-fleet configuration on the Miru platform."""


def _register() -> None:
    from reconciler.commands import adopt, apply, drift, emulator, plan, sets, status, validate, watch

    for module in (validate, plan, drift, apply, status, sets, adopt, watch, emulator):
        main.add_command(module.command)


_register()
