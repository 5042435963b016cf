"""The JSON Schemas are valid 2020-12 schemas, and what an editor resolves from them (the
files side by side, `$ref` by file name) accepts the examples, as the loader does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconciler.manifests.schema_check import inlined, load_schema, schema_dir, validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
MINE = ["reconcile.schema.json", "deploymentset.schema.json", "validate-output.schema.json"]


def editor_validator(name: str) -> Draft202012Validator:
    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT202012))
        for p in SCHEMAS.glob("*.schema.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    return Draft202012Validator(json.loads((SCHEMAS / name).read_text()), registry=registry)


@pytest.mark.parametrize("name", MINE)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", [*MINE, "plan.schema.json"])
def test_the_inlined_schema_the_loader_validates_with_is_valid_2020_12(name: str) -> None:
    """The loader does not check its schemas at run time: this is where they are checked, in
    the form it validates with (every `$ref` replaced by its target)."""
    schema = inlined(name)
    assert "$defs" not in schema
    assert "$ref" not in json.dumps(schema)
    Draft202012Validator.check_schema(schema)
    assert validator(name).schema == schema


def test_loader_reads_the_repository_schemas() -> None:
    assert schema_dir().resolve() == SCHEMAS.resolve()
    on_disk = json.loads((SCHEMAS / "deploymentset.schema.json").read_text())
    assert load_schema("deploymentset.schema.json") == on_disk


def test_examples_pass_the_schemas_as_an_editor_sees_them() -> None:
    project = yaml.safe_load((ROOT / "examples" / "reconcile.yaml").read_text())
    assert list(editor_validator("reconcile.schema.json").iter_errors(project)) == []
    sets = sorted((ROOT / "examples" / "deploymentsets").glob("*.yaml"))
    assert len(sets) == 2
    for path in sets:
        doc = yaml.safe_load(path.read_text())
        assert list(editor_validator("deploymentset.schema.json").iter_errors(doc)) == []


def test_cross_file_reference_resolves_for_editors() -> None:
    bad = {"target": {"emulator": {}}, "defaults": {"rollout": {"strategy": 7}}}
    (error,) = editor_validator("reconcile.schema.json").iter_errors(bad)
    assert list(error.absolute_path) == ["defaults", "rollout", "strategy"]
