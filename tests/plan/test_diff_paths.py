"""A config diff's path is data (config type, slot, keys and indices); only the renderers turn
it into `motion-control.safety.lidar_zones[1]`, and the JSON plan carries it as a list."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from reconciler.model.enums import Action, DiffOp
from reconciler.model.plan import ConfigDiff, DeviceChange, Plan, ValueSource
from reconciler.plan.diff import config_diffs, describe, render_path
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from reconciler.sensitive import SecretFields

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json").read_text())


def test_paths_are_tuples_of_keys_and_indices() -> None:
    old = {"safety": {"zones": ["front", "rear"]}, "a.b": 1, "1": "x"}
    new = {"safety": {"zones": ["front"]}, "a.b": 2, "1": "y"}
    got = {(d.op, d.path) for d in config_diffs(("motion-control", "default"), old, new)}
    assert got == {
        (DiffOp.REMOVE, ("motion-control", "default", "safety", "zones", 1)),
        (DiffOp.CHANGE, ("motion-control", "default", "a.b")),
        (DiffOp.CHANGE, ("motion-control", "default", "1")),  # a key that looks like a number stays a key
    }


def test_rendering_keeps_the_dotted_look_and_never_misleads() -> None:
    assert (
        render_path(("motion-control", "default", "safety", "zones", 1)) == "motion-control.safety.zones[1]"
    )
    assert render_path(("sensors", "rear", "enabled")) == "sensors[rear].enabled"
    assert render_path(("operator-notes", "default")) == "operator-notes"  # the whole content
    # a key holding a dot or a bracket is quoted: it is one key, not a path
    assert render_path(("app", "default", "a.b")) == 'app["a.b"]'
    assert render_path(("app", "default", "x", "1")) == 'app.x["1"]'


def test_secret_fields_stay_hidden_whatever_the_path() -> None:
    fields = SecretFields({"properties": {"creds": {"writeOnly": True}}})
    (d,) = config_diffs(
        ("app", "default"), {"creds": {"k": "old-s3cret"}}, {"creds": {"k": "new-s3cret"}}, fields
    )
    assert d.path == ("app", "default", "creds", "k") and d.old == d.new == "(secret)"
    assert describe(d) == "app.creds.k: (secret changed)"


def _plan() -> Plan:
    source = ValueSource("site-north", "sets/site-north.yaml", 12, 7)
    diffs = (
        ConfigDiff(DiffOp.CHANGE, ("motion-control", "default", "max_speed"), 1.0, 1.2, source),
        ConfigDiff(DiffOp.ADD, ("sensors", "rear", "zones", 0), None, "front"),
    )
    change = DeviceChange("amr-01", "dvc_1", Action.DEPLOY, "site-north", "v1", "v1", "rls_1", diffs)
    return Plan(changes=(change,))


def test_the_json_plan_carries_paths_as_lists_and_round_trips() -> None:
    plan = _plan()
    data = json.loads(json.dumps(plan.to_dict()))
    jsonschema.validate(data, SCHEMA)
    diffs = data["changes"][0]["config_diffs"]
    assert [d["path"] for d in diffs] == [
        ["motion-control", "default", "max_speed"],
        ["sensors", "rear", "zones", 0],
    ]
    assert diffs[0]["source"] == {
        "deployment_set": "site-north",
        "file": "sets/site-north.yaml",
        "line": 12,
        "column": 7,
    }
    assert data["format_version"] == 3
    assert Plan.from_dict(data) == plan


def test_text_and_markdown_show_the_path_and_where_the_value_came_from() -> None:
    text = render_text(_plan())
    assert "motion-control.max_speed: 1.0 -> 1.2 (from site-north)" in text
    assert '+ sensors[rear].zones[0]: "front"' in text
    assert "motion-control.max_speed: 1.0 -> 1.2 (from site-north)" in render_markdown(_plan())
