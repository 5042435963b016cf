"""The small modules: merge patch, durations, globs and references, YAML limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import Location, Problem
from reconciler.manifests.merge import merge_patch
from reconciler.manifests.report import render_github
from reconciler.manifests.source import DirSource, SourceError, glob_match
from reconciler.manifests.yamlbuild import MAX_NODES
from reconciler.manifests.yamldoc import json_path
from reconciler.manifests.yamlload import load_documents
from reconciler.model.rollout import format_duration, parse_duration

# RFC 7386 appendix A.
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC7386)
def test_merge_patch_rfc7386(target: object, patch: object, result: object) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # inputs are not modified


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2h", 7200),
        ("1m0.5s", 60.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "5 m", "1x", "m5", "-5s", "1m1m", "1.s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (30, 90, 3600, 5400.0, 0.25, 0, 1.5)] == [
        "30s",
        "1m30s",
        "1h",
        "1h30m",
        "250ms",
        "0s",
        "1.5s",
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*.yaml", "a.yaml", True),
        ("**/*.yaml", "x/y/a.yaml", True),
        ("*.yaml", "x/a.yaml", False),
        ("sets/**/*.yml", "sets/a.yml", True),
        ("sets/**/*.yml", "other/sets/a.yml", False),
        ("amr-[0-9].yaml", "amr-3.yaml", True),
        ("a?.yaml", "ab.yaml", True),
        ("./a.yaml", "a.yaml", True),
        ("[z-a].yaml", "[z-a].yaml", True),
        ("[!a]b.yaml", "cb.yaml", True),
        ("a[.yaml", "a[.yaml", True),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches


def test_resolve_refuses_leaving(tmp_path: Path) -> None:
    src = DirSource(tmp_path)
    assert src.resolve("sets/a.yaml", "../configs/x.json") == "configs/x.json"
    assert src.resolve("a.yaml", "./x/../y.json") == "y.json"
    for ref, msg in [
        ("../x", "leaves the repository"),
        ("sets/../../x", "leaves the repository"),
        ("/etc/passwd", "is absolute"),
        ("C:/x", "is absolute"),
        ("a\\b", "separator"),
        ("", "empty"),
        ("..", "leaves the repository"),
    ]:
        with pytest.raises(SourceError, match=msg):
            src.resolve("a.yaml", ref)


def test_glob_skips_hidden_dirs(tmp_path: Path) -> None:
    for rel in ("a.yaml", "x/b.yml", ".git/c.yaml", ".reconcile/d.yaml", "x/.hidden/e.yaml", "f.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert DirSource(tmp_path).glob(["**/*.yaml", "**/*.yml"]) == ["a.yaml", "x/b.yml"]


def test_read_missing_and_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(SourceError, match="does not exist"):
        DirSource(tmp_path).read_bytes("nope.yaml")
    with pytest.raises(SourceError, match="is a directory"):
        DirSource(tmp_path).read_bytes("d")


def test_yaml_positions_and_json_paths() -> None:
    (doc,), problems = load_documents(b"a:\n  b-c: [1, {d: x}]\n", "f.yaml")
    assert problems == []
    assert doc.where(("a", "b-c", 1, "d")) == (2, 16)
    assert doc.where(("a", "b-c"), key=True) == (2, 3)
    assert doc.where(("a", "missing", 3)) == (2, 3)  # nearest located ancestor
    assert json_path(("a", "b-c", 1, "d")) == "$.a['b-c'][1].d"


def test_alias_within_limits_is_fine() -> None:
    (doc,), problems = load_documents(b"x: &x [1, 2]\ny: *x\nz: *x\n", "f.yaml")
    assert problems == [] and doc.data == {"x": [1, 2], "y": [1, 2], "z": [1, 2]}


def test_wide_document_hits_node_cap() -> None:
    data = ("[" + ",".join(["1"] * (MAX_NODES + 5)) + "]").encode()
    docs, problems = load_documents(data, "f.yaml")
    assert docs == [] and "expands to more than" in problems[0].message


def test_bom_is_accepted() -> None:
    (doc,), problems = load_documents(b"\xef\xbb\xbfa: 1\n", "f.yaml")
    assert problems == [] and doc.data == {"a": 1}


def test_github_escaping() -> None:
    p = Problem("100% wrong\r\nsecond line", Location("dir/a,b:c.yaml", 3, 4))
    assert render_github([p], Path.cwd()) == (
        "::error file=dir/a%2Cb%3Ac.yaml,line=3,col=4::100%25 wrong%0D%0Asecond line"
    )


def test_pattern_matching_across_sets_agrees_with_fnmatch() -> None:
    from fnmatch import fnmatchcase

    from reconciler.manifests.crosscheck import _matching

    names = sorted(["amr-east-01", "amr-east-02", "amr-east-10", "lab-arm-01", "a]b", "a[b", "x*y", "AMR-1"])
    for pattern in [
        "amr-*",
        "*-0?",
        "[al]*",
        "[!a]*",
        "a[]]b",
        "*",
        "?",
        "x[*]y",
        "amr-east-[0-9][0-9]",
        "[!]]*",
        "a[",
        "[z-a]*",
        "amr-east-01",
        "",
    ]:
        assert _matching(pattern, names) == [n for n in names if fnmatchcase(n, pattern)], pattern


def test_pipes_and_devices_are_refused_not_waited_on(tmp_path: Path) -> None:
    # Opening a named pipe for reading blocks until a writer comes: validate must not hang.
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(SourceError, match=r"'pipe\.yaml' is not a regular file"):
        DirSource(tmp_path).read_bytes("pipe.yaml")
