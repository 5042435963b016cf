"""The `reconcile` command line: one error boundary that maps errors to exit codes.

Commands live in `reconciler/commands/<name>.py`, each exposing a click command;
this module only wires them together.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import EXIT_BUG, EXIT_ERROR, ReconcileError, redact

# Command name -> the module in `reconciler.commands` that holds it, in `--help` order. A
# command's module is imported when that command runs: `validate`, run by pre-commit hooks and
# editors, need not import the SDK, httpx and git (the examples: 0.74-0.81 s, now 0.21-0.25 s).
COMMANDS = {
    "validate": "validate",
    "plan": "plan",
    "drift": "drift",
    "apply": "apply",
    "status": "status",
    "sets": "sets",
    "import": "adopt",
    "watch": "watch",
    "doctor": "doctor",
    "emulator": "emulator",
}


class _Boundary(click.Group):
    """Maps exceptions to exit codes: ReconcileError -> 1, usage errors -> 1, bugs -> 3.
    Commands are loaded by name (`COMMANDS`), when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(f"reconciler.commands.{module}").command
        return command

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
