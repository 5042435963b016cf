"""Property: whatever bytes or documents a repository holds, `reconcile validate` answers
with exit 0 or 1 and never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main

PROJECT = b"target: {emulator: {}}\n"
OUTPUT_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).resolve().parents[2] / "schemas" / "validate-output.schema.json").read_text())
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "v1.4.1",
            "30s",
            "5m",
            "canary",
            "rolling",
            "immediate",
            "deploy",
            "stage",
            "fleet",
            "amr-*",
            "../x.json",
            "/etc/passwd",
            "c.json",
            "t.txt",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def maybe(v: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(v, values)


rollouts = st.fixed_dictionaries(
    {},
    optional={
        "strategy": maybe(st.sampled_from(["immediate", "rolling", "canary"])),
        "max_parallel": maybe(st.integers(-1, 10)),
        "canary_count": maybe(st.integers(0, 5)),
        "canary_percent": maybe(st.floats(-1, 200, allow_nan=False)),
        "auto_promote": maybe(st.booleans()),
        "health_check": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "deadline": maybe(st.sampled_from(["30s", "0s", "1m", "1h2h", "x"])),
                    "min_healthy_time": maybe(st.sampled_from(["2s", "2m", "30"])),
                    "max_error_rate": maybe(st.floats(-1, 2, allow_nan=False)),
                },
            )
        ),
        "max_failed_nodes": maybe(st.integers(-1, 5)),
        "no_auto_rollback": maybe(st.booleans()),
    },
)
names = st.lists(st.sampled_from(["amr-east-01", "amr-east-02", "lab-*", "fleet", "lab"]), max_size=3)
config = st.fixed_dictionaries(
    {},
    optional={
        "slot": maybe(st.sampled_from(["default", "extra"])),
        "file": maybe(
            st.one_of(
                st.sampled_from(
                    [
                        "c.json",
                        "t.txt",
                        "y.yaml",
                        "../c.json",
                        "missing.json",
                        "a.yaml",
                        "reconcile.yaml",
                        ".",
                        "/",
                        "c.json/",
                        "./",
                    ]
                ),
                st.text(max_size=10),
            )
        ),
        "values": maybe(st.dictionaries(st.sampled_from(["max_speed", "docking"]), values, max_size=2)),
    },
)
deployment_sets = st.fixed_dictionaries(
    {
        "apiVersion": maybe(st.just("reconciler/v1")),
        "kind": maybe(st.just("DeploymentSet")),
        "metadata": maybe(st.fixed_dictionaries({"name": maybe(st.sampled_from(["a", "b", "Bad Name"]))})),
        "spec": maybe(
            st.fixed_dictionaries(
                {"release": maybe(st.just("v1.4.1"))},
                optional={
                    "selector": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "groups": maybe(names),
                                "devices": maybe(names),
                                "patterns": maybe(names),
                                "exclude": maybe(
                                    st.fixed_dictionaries({}, optional={"devices": maybe(names)})
                                ),
                            },
                        )
                    ),
                    "configs": maybe(
                        st.dictionaries(
                            st.sampled_from(["motion-control", "Bad", "notes"]),
                            st.one_of(config, st.lists(config, max_size=3)),
                            max_size=2,
                        )
                    ),
                    "overrides": maybe(
                        st.lists(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "devices": maybe(names),
                                    "patterns": maybe(names),
                                    "release": maybe(st.just("v2")),
                                    "configs": maybe(
                                        st.dictionaries(st.just("motion-control"), config, max_size=1)
                                    ),
                                },
                            ),
                            max_size=2,
                        )
                    ),
                    "rollout": maybe(rollouts),
                    "activation": maybe(st.sampled_from(["deploy", "stage", "now"])),
                },
            )
        ),
    }
)
projects = st.fixed_dictionaries(
    {
        "target": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "emulator": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "db": maybe(st.just("x.db")),
                                "seed": maybe(st.one_of(st.just("c.json"), st.text(max_size=8))),
                            },
                        )
                    ),
                    "base_url": maybe(st.just("https://x.example")),
                    "api_key": st.just("k"),
                },
            )
        )
    },
    optional={
        "manifests": maybe(
            st.lists(st.sampled_from(["**/*.yaml", "*.yml", "../*.yaml", "[z-a]*", "", "**"]), max_size=2)
        ),
        "defaults": maybe(st.fixed_dictionaries({"rollout": maybe(rollouts)})),
    },
)

FIXED_FILES = {"c.json": b'{"max_speed": 1}', "t.txt": b"notes\n", "y.yaml": b"a: [1, 2]\n"}


def run(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, data in {**FIXED_FILES, "reconcile.yaml": PROJECT, **files}.items():
            (root / rel).write_bytes(data)
        for fmt in ("text", "json"):
            result = CliRunner().invoke(main, ["validate", str(root), "--format", fmt])
            assert result.exit_code in (0, 1), result.output
            assert "Traceback" not in result.output
            assert result.exception is None or isinstance(result.exception, SystemExit)
            if fmt == "json":
                problems = json.loads(result.stdout)
                OUTPUT_SCHEMA.validate(problems)  # whatever the input, the output keeps its schema
                assert bool(problems) == (result.exit_code == 1)
                for p in problems:  # every problem is located in a file, at a line and column
                    assert p["file"] and p["line"] >= 1 and p["column"] >= 1, p


def dump(docs: list[Any]) -> bytes:
    return yaml.safe_dump_all(docs, allow_unicode=True).encode()


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_as_manifest(data: bytes) -> None:
    run({"a.yaml": data})


@SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_random_bytes_as_project_file_and_config(project: bytes, config: bytes) -> None:
    run(
        {
            "reconcile.yaml": project,
            "c.json": config,
            "a.yaml": b"apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: a}\n"
            b"spec: {selector: {groups: [g]}, release: v1, configs: {m: {file: c.json}}}\n",
        }
    )


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`, \n\t?~0.")), max_size=200))
def test_yamlish_text(text: str) -> None:
    run({"a.yaml": text.encode()})


@SETTINGS
@given(st.lists(values, max_size=3))
def test_random_documents(docs: list[Any]) -> None:
    run({"a.yaml": dump(docs)})


@SETTINGS
@given(st.lists(deployment_sets, min_size=1, max_size=3), projects)
def test_random_deployment_sets(docs: list[Any], project: dict[str, Any]) -> None:
    run({"a.yaml": dump(docs), "reconcile.yaml": dump([project])})
