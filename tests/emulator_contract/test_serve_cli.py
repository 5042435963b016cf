"""`reconcile emulator serve` refuses bad input with a message, exit 1, no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["emulator", "serve", *args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_a_bad_seed_is_reported_with_its_location(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("devices:\n  - {name: a, status: flying}\n")
    code, out = run("--db", str(tmp_path / "e.db"), "--seed", str(seed), "--port", "0")
    assert code == 1
    assert f"{seed}:2:" in out and "flying" in out
    assert "Traceback" not in out


def test_a_db_that_is_not_sqlite_is_an_error(tmp_path: Path) -> None:
    code, out = run("--db", str(tmp_path), "--port", "0")
    assert code == 1
    assert "cannot open the emulator db" in out and "Traceback" not in out
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello, this is not a database" * 100)
    code, out = run("--db", str(not_a_db), "--port", "0")
    assert code == 1 and "Traceback" not in out


def test_a_port_in_use_is_an_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, out = run("--db", str(tmp_path / "e.db"), "--port", str(port))
    assert code == 1
    assert "cannot serve on 127.0.0.1" in out and "Traceback" not in out


def test_help_lists_the_options() -> None:
    code, out = run("--help")
    assert code == 0
    for option in ("--db", "--seed", "--host", "--port", "--api-key"):
        assert option in out
