"""Secret config fields (issue 12, item 2): marked by the schema (`writeOnly`,
`x-reconcile-secret: true`) or by name (`*token*`, `*password*`, `*secret*`, `*api_key*`,
unless `x-reconcile-secret: false`). Every command in every format runs; no secret value
appears on stdout, stderr, in markdown or in any file written, but for the saved plan's
instance data, which apply uploads; apply still deploys the real values."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.ci import apply_report, report
from reconciler.cli import main
from reconciler.plan.diff import config_diffs, describe
from reconciler.sensitive import SecretFields, secret_name
from tests.apply.helpers import config_instances
from tests.harness import Harness, example_configs, example_fleet, make_harness

APP_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "api_token": {"type": "string"},
        "db_password": {"type": "string", "minLength": 8},
        "signing": {"type": "string", "writeOnly": True},
        "license": {"type": "string", "x-reconcile-secret": True},
        "token_bucket": {"type": "integer", "x-reconcile-secret": False},
        "nested": {"type": "object", "properties": {"client_secret": {"type": "string"}}},
        "level": {"type": "string"},
    },
}
OLD = {
    "api_token": "old-canary-api-7f3a9",
    "db_password": "old-canary-pw-51d0e",
    "signing": "old-canary-sig-8c1b2",
    "license": "old-canary-lic-0a4d7",
    "token_bucket": 10,
    "nested": {"client_secret": "old-canary-cs-3e9f1"},
    "level": "info",
}
NEW_FILE = {
    "api_token": "new-canary-api-2b8c4",
    "db_password": "new-canary-pw-6f2a1",
    "signing": "new-canary-sig-9d3e0",
    "token_bucket": 20,
    "nested": {"client_secret": "new-canary-cs-4c7b8"},
    "level": "debug",
}
NEW_INLINE = {"license": "new-canary-lic-1f5c3"}  # from the DeploymentSet's inline values


def leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    return [value] if isinstance(value, str) and "canary" in value else []


SECRETS = leaves(OLD) + leaves(NEW_FILE) + leaves(NEW_INLINE)


def seed() -> dict[str, Any]:
    data = example_fleet(5, offline=[])
    data["config_types"].append({"slug": "app", "name": "App"})
    data["config_schemas"].append(
        {
            "config_type": "app",
            "version": "v1",
            "language": "jsonschema",
            "format": "json",
            "instance_format": "json",
            "slots": [{"key": "default", "filepath": "/srv/app.json", "required": True}],
            "document": APP_SCHEMA,
        }
    )
    for release in data["releases"]:
        release["schemas"].append("app@v1")
    for device in data["devices"]:
        if "configs" in device:
            device["configs"]["app"] = OLD
    return data


def write_project(root: Path, db: str, app: dict[str, Any] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "reconcile.yaml").write_text(
        yaml.safe_dump({"target": {"emulator": {"db": db}}, "manifests": ["sets/*.yaml"]})
    )
    cfg = example_configs()
    (root / "configs").mkdir()
    (root / "configs" / "motion-control.json").write_text(json.dumps(cfg["motion-control"]))
    (root / "configs" / "localization.yaml").write_text(yaml.safe_dump(cfg["localization"]))
    (root / "configs" / "app.json").write_text(json.dumps(app or NEW_FILE, indent=2))
    (root / "sets").mkdir()
    spec = {
        "selector": {"groups": ["fleet", "lab"]},
        "release": "v1.4.1",
        "configs": {
            "motion-control": {"file": "../configs/motion-control.json"},
            "localization": {"file": "../configs/localization.yaml"},
            "app": {"file": "../configs/app.json", "values": NEW_INLINE},
        },
        "rollout": {"strategy": "rolling", "health_check": {"deadline": "30s", "min_healthy_time": "2s"}},
    }
    doc = {"apiVersion": "reconciler/v1", "kind": "DeploymentSet", "metadata": {"name": "all"}, "spec": spec}
    (root / "sets" / "all.yaml").write_text(yaml.safe_dump(doc))
    return root


Outputs = dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Outputs, list[Any]]]:
    tmp = tmp_path_factory.mktemp("secrets")
    emu: Harness = make_harness(str(tmp / "emulator.db"))
    asyncio.run(emu.seed(seed()))
    root = write_project(tmp / "project", str(tmp / "emulator.db"))
    plan_file = tmp / "plan.json"
    out: Outputs = {}

    def cli(key: str, *args: str, codes: tuple[int, ...] = (0, 2)) -> None:
        r = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert r.exit_code in codes, f"{key}: exit {r.exit_code}\n{r.stderr}"
        out[f"{key} stdout"], out[f"{key} stderr"] = r.stdout, r.stderr

    p = str(root)
    for fmt in ("text", "json", "github"):
        cli(f"validate {fmt}", "validate", p, "--online", "--format", fmt)
    for fmt in ("text", "json", "markdown"):
        cli(f"plan {fmt}", "plan", p, "--format", fmt)
    cli("plan out", "plan", p, "--out", str(plan_file))
    for fmt in ("text", "json"):
        cli(f"drift {fmt}", "drift", p, "--format", fmt)
    cli("apply text", "apply", p, "--plan", str(plan_file), "--auto-approve")
    for fmt in ("text", "json"):
        cli(f"status {fmt}", "status", p, "--format", fmt)
    cli("apply json", "apply", p, "--auto-approve", "--format", "json")
    cli("drift after", "drift", p, "--format", "json")
    # The action's summary and comment are built from these outputs.
    out["summary drift"] = report.drift_markdown("p", 2, out["drift text stdout"], "")
    out["summary apply"] = apply_report.apply_markdown("p", 0, out["apply json stdout"], "", "art")
    # Every file the commands wrote (the platform's own database aside).
    for f in sorted([plan_file, *root.rglob("*")]):
        inputs = {"configs", "sets", "reconcile.yaml"}  # what the test wrote, not the commands
        if f.is_file() and f.suffix not in (".db", ".db-wal", ".db-shm") and not inputs & set(f.parts):
            out[f"file {f.relative_to(tmp)}"] = f.read_text(encoding="utf-8", errors="replace")
    deployed = asyncio.run(config_instances(emu))
    emu.close()
    yield root, out, deployed


def without_instance_data(text: str) -> str:
    """A plan with its instances' `data` taken out: that content is what apply uploads."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    plans = [data, *(data.get("plans", []) if isinstance(data, dict) else [])]
    for plan in plans:
        if isinstance(plan, dict):
            for inst in plan.get("instances", []):
                inst["data"] = "(uploaded by apply)"
    return json.dumps(data)


def test_no_secret_value_in_any_output_or_file(world: tuple[Path, Outputs, list[Any]]) -> None:
    _, out, _ = world
    assert any(k.startswith("file ") and "rollouts" in k for k in out), sorted(out)
    for where, text in out.items():
        # Every file too: the saved plan (a CI artifact) keeps secret content as a digest only.
        shown = without_instance_data(text) if "stdout" in where and "json" in where else text
        for secret in SECRETS:
            assert secret not in shown, f"{secret} in {where}"


def test_diffs_say_secret_changed_and_show_other_fields(world: tuple[Path, Outputs, list[Any]]) -> None:
    _, out, _ = world
    text = out["plan text stdout"]
    for field in ("api_token", "db_password", "signing", "license", "nested.client_secret"):
        assert f"app.{field}: (secret changed)" in text, text
    assert "app.token_bucket: 10 -> 20" in text  # `x-reconcile-secret: false` beats the name
    assert 'app.level: "info" -> "debug"' in text
    assert "app.api_token: (secret changed)" in out["plan markdown stdout"]
    plan = json.loads(out["plan json stdout"])
    diffs = {tuple(d["path"]): d for c in plan["changes"] for d in c["config_diffs"]}
    token = diffs[("app", "default", "api_token")]
    assert token["old"] == token["new"] == "(secret)"
    assert "app.api_token: (secret changed)" in out["drift text stdout"]


def test_apply_deploys_the_real_values(world: tuple[Path, Outputs, list[Any]]) -> None:
    _, out, deployed = world
    contents = [json.loads(i.content.data) for i in deployed if i.content.format == "json"]
    want = {**NEW_FILE, **NEW_INLINE}
    assert want in contents, contents
    # The saved plan sealed it (digest only); apply read it again from the manifests.
    saved = json.loads(out[next(k for k in out if k.endswith("plan.json"))])
    (app,) = [i for i in saved["instances"] if i["config_type"] == "app"]
    assert app["sealed"] is True and app["data"] == ""


def test_a_sealed_plan_whose_content_changed_is_refused(
    world: tuple[Path, Outputs, list[Any]], tmp_path: Path
) -> None:
    root, out, _ = world
    saved = json.loads(out[next(k for k in out if k.endswith("plan.json"))])
    (app,) = [i for i in saved["instances"] if i["config_type"] == "app"]
    app["key"] = "0" * 64  # content the manifests do not hold any more
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(saved))
    r = CliRunner().invoke(main, ["apply", str(root), "--plan", str(edited), "--auto-approve"])
    assert r.exit_code == 1 and "only as a digest" in r.stderr, r.output
    assert "Traceback" not in r.output


def test_a_secret_that_fails_its_schema_is_reported_without_its_value(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(seed()))
    bad = {**NEW_FILE, "db_password": "cnry-7x"}  # shorter than minLength
    root = write_project(tmp_path / "p", emu.db, app=bad)
    for fmt in ("text", "json", "github"):
        r = CliRunner().invoke(main, ["validate", str(root), "--online", "--format", fmt])
        assert r.exit_code == 1, r.output
        assert "cnry-7x" not in r.output and "db_password" in r.output
        assert "secret value does not match its schema" in r.output
    r = CliRunner().invoke(main, ["plan", str(root)])  # the devices are blocked, the value unshown
    assert "blocked: app: content invalid at $.db_password" in r.output and "cnry-7x" not in r.output


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_token", True),
        ("GITHUB_TOKEN", True),
        ("db_password", True),
        ("passwd", True),
        ("client_secret", True),
        ("api_key", True),
        ("apiKey", True),
        ("private_key", True),
        ("max_speed", False),
        ("level", False),
        ("keyboard", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


def test_schema_marks_override_names_and_reach_into_arrays() -> None:
    fields = SecretFields(
        {
            "properties": {
                "token_bucket": {"x-reconcile-secret": False},
                "keys": {"type": "array", "items": {"writeOnly": True}},
                "creds": {"type": "object", "additionalProperties": {"x-reconcile-secret": True}},
            }
        }
    )
    assert not fields.is_secret(("token_bucket",))
    assert fields.is_secret(("keys", 0)) and fields.is_secret(("creds", "anything"))
    old = {"keys": ["k-old-1"], "creds": {"a": "c-old"}, "token_bucket": 1}
    new = {"keys": ["k-new-1"], "creds": {"a": "c-new"}, "token_bucket": 2}
    lines = [describe(d) for d in config_diffs(("app", "default"), old, new, fields)]
    assert lines == [
        "app.creds.a: (secret changed)",
        "app.keys[0]: (secret changed)",
        "app.token_bucket: 1 -> 2",
    ]
    (added,) = config_diffs(("app", "default"), None, new, fields)
    assert added.new == {"keys": ["(secret)"], "creds": {"a": "(secret)"}, "token_bucket": 2}


def test_secret_values_seen_while_planning_are_redacted_from_errors() -> None:
    from reconciler.errors import ReconcileError

    fields = SecretFields({"properties": {"sig": {"writeOnly": True}}})
    config_diffs(("app", "default"), {"sig": "live-sig-canary-0001"}, {"sig": "new-sig-canary-0002"}, fields)
    error = ReconcileError(
        "the platform said: bad content {'sig': 'new-sig-canary-0002'} (was live-sig-canary-0001)"
    )
    shown = error.format_text()
    assert "canary-000" not in shown and shown.count("***") == 2
