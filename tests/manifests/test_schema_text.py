"""Schema documents from the platform: parsed by libyaml when safe, to the same values as the
pure-Python safe loader; once per text (validation and the secret-field scan share it); and a
hostile document nested past libyaml's recursion fails as an exception, not a crashed process."""

from __future__ import annotations

import json

import pytest
import yaml

from reconciler.manifests.yamlload import load_schema_text

YAML_DOC = """\
$schema: https://json-schema.org/draft/2020-12/schema
type: object
properties:
  max_speed: {type: number, maximum: 2.5}
  api_token: {type: string, writeOnly: true}
  when: {type: string, default: 2026-11-30}
  flags: [yes, no, on, off, ~, 0x1F, 1_000]
required: [max_speed]
"""


@pytest.mark.parametrize("text", [YAML_DOC, json.dumps(yaml.safe_load(YAML_DOC), default=str)])
def test_the_same_values_as_the_safe_loader(text: str) -> None:
    assert load_schema_text(text) == yaml.safe_load(text)


def test_one_parse_per_text() -> None:
    text = YAML_DOC + "# once\n"
    assert load_schema_text(text) is load_schema_text(text)


def test_deep_flow_nesting_is_an_exception_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises((RecursionError, yaml.YAMLError)):
        load_schema_text(deep)
