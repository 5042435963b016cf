"""Secret fields in a layered plan: a layer that changes a secret value is named as its
source, and the value still appears in no output (text, markdown, JSON, drift)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import make_harness
from tests.test_secrets import SECRETS, seed, write_project

SITE_SECRET = "site-canary-lic-9e9e9"


def test_a_layers_secret_value_is_attributed_and_never_shown(tmp_path: Path) -> None:
    harness = make_harness(str(tmp_path / "emulator.db"))
    try:
        asyncio.run(harness.seed(seed()))
        root = write_project(tmp_path / "p", str(Path(harness.db).resolve()))
        site = {
            "apiVersion": "reconciler/v1",
            "kind": "DeploymentSet",
            "metadata": {"name": "site-lab"},
            "spec": {
                "extends": "all",
                "selector": {"groups": ["lab"]},
                "configs": {"app": {"values": {"license": SITE_SECRET, "level": "warn"}}},
            },
        }
        (root / "sets" / "site-lab.yaml").write_text(yaml.safe_dump(site))
        shown = {}
        for fmt in ("text", "markdown", "json"):
            result = CliRunner().invoke(main, ["plan", str(root), "--format", fmt])
            assert result.exit_code == 0, result.output
            shown[fmt] = result.stdout + result.stderr
        drift = CliRunner().invoke(main, ["drift", str(root), "--format", "json"])
        shown["drift"] = drift.stdout + drift.stderr
        for fmt, out in shown.items():
            for secret in [*SECRETS, SITE_SECRET]:
                assert secret not in out, (fmt, secret)
        assert "app.license: (secret changed) (from site-lab)" in shown["text"]
        assert 'app.level: "info" -> "warn" (from site-lab)' in shown["text"]
        assert "app.api_token: (secret changed) (from all)" in shown["text"]  # the base's file
    finally:
        harness.close()
