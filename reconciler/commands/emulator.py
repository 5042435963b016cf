"""`reconcile emulator serve`: the platform emulator over HTTP on this machine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

DEFAULT_DB = ".reconcile/emulator.db"


@click.group("emulator")
def command() -> None:
    """The Miru platform emulator (an embedded stand-in for the platform API)."""


@command.command("serve")
@click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite file holding the emulator's state (':memory:' for a throwaway one).",
)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed YAML applied when the db is new (empty).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; loopback unless told otherwise.",
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0 picks a free one and prints it).",
)
@click.option(
    "--api-key",
    envvar="RECONCILE_EMULATOR_API_KEY",
    show_envvar=True,
    help="An extra read-write API key (besides emulator-local-rw / emulator-local-ro).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="A line per request on stderr (a large fleet's tests make hundreds of thousands).",
)
def serve_command(
    db: str, seed: Path | None, host: str, port: int, api_key: str | None, access_log: bool
) -> None:
    """Serve the emulator: platform API under /beta, admin API under /_emulator,
    enrollment API under /v2. Real clock. Logs one line per request (never keys)."""
    # With commands/wiring.py, the only product module that imports the emulator (tests/test_layering.py).
    from reconciler.emulator.seed import SeedError
    from reconciler.emulator.serve import serve
    from reconciler.errors import ReconcileError

    try:
        serve(
            db=db,
            seed=seed,
            host=host,
            port=port,
            extra_rw_key=api_key,
            emit=lambda line: click.echo(line, err=True),
            access_log=access_log,
        )
    except SeedError as e:
        # The message starts with file:line:col of the offending entry.
        raise ReconcileError(str(e), hint="fix the seed; it is applied only when the db is new") from None
    except sqlite3.Error as e:
        raise ReconcileError(
            f"cannot open the emulator db {db}: {e}",
            hint="--db must be a SQLite file (it is created if missing)",
        ) from None
    except KeyboardInterrupt:
        # Ctrl-C is how a served emulator is stopped: uvicorn has already shut down cleanly.
        click.echo("emulator stopped", err=True)
    except OSError as e:
        raise ReconcileError(
            f"cannot serve on {host}:{port}: {e.strerror or e}",
            hint="pick another --port (0 chooses a free one)",
        ) from None
