"""Project directories for plan tests: the example configs and DeploymentSets (or given
ones), with reconcile.yaml targeting a harness's emulator db."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLIENT_ID = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
ENROLLMENT_TOKEN = "emulator-enrollment-token"


def write_project(
    root: Path, db: str, sets: dict[str, str] | None = None, *, enrollment: bool = True
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES / "configs", root / "configs", dirs_exist_ok=True)
    target = root / "deploymentsets"
    if sets is None:
        shutil.copytree(EXAMPLES / "deploymentsets", target, dirs_exist_ok=True)
    else:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for name, text in sets.items():
            (target / name).write_text(text)
    text = f"target:\n  emulator:\n    db: {db}\nmanifests: ['deploymentsets/**/*.yaml']\n"
    if enrollment:
        text += (
            f"enrollment:\n  base_url: http://emulator.local/v2\n  client_id: {CLIENT_ID}\n"
            "  token_env: ENROLLMENT_TOKEN\n"
        )
    (root / "reconcile.yaml").write_text(text)
    return root


def target_url(root: Path, url: str) -> None:
    """Point the project at a platform served at `url` (its API under /beta) instead of a db."""
    (root / "reconcile.yaml").write_text(
        f"target: {{base_url: '{url}/beta'}}\nmanifests: ['deploymentsets/**/*.yaml']\n"
    )


def dset(
    name: str,
    *,
    selector: str = "groups: [fleet]",
    release: str = "v1.4.1",
    motion: str = "values: {max_speed: 1.2}",
    extra_configs: str = "",
    overrides: str = "",
    activation: str = "deploy",
    configs: str | None = None,
) -> str:
    """A DeploymentSet manifest; `configs` replaces the whole configs block when given."""
    if configs is None:
        configs = (
            f"    motion-control:\n      file: ../configs/motion-control.json\n      {motion}\n"
            "    localization:\n      file: ../configs/localization.yaml\n"
            "    operator-notes:\n      file: ../configs/operator-notes.txt\n" + extra_configs
        )
    text = (
        f"apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata:\n  name: {name}\nspec:\n"
        f"  selector:\n    {selector}\n  release: {release}\n  configs:\n{configs}"
        f"  activation: {activation}\n"
    )
    if overrides:
        text += f"  overrides:\n{overrides}"
    return text


@contextmanager
def served_emulator(db: Path) -> Iterator[str]:
    """`reconcile emulator serve --db DB` on a free port of 127.0.0.1 in another process;
    yields its URL (the platform API is under /beta)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from reconciler.cli import main; main()",
            "emulator",
            "serve",
            "--db",
            str(db),
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    try:
        url = ""
        while not url:
            line = proc.stderr.readline()
            if not line:
                raise AssertionError("the emulator did not start")
            if "listening on" in line:
                url = line.split("listening on ", 1)[1].split()[0]
        threading.Thread(target=lambda: [None for _ in proc.stderr or []], daemon=True).start()
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


def invoke(*args: str) -> tuple[int, str, str]:
    """`reconcile ARGS` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
