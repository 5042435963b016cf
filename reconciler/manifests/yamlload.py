"""Safe YAML with a line and column for every node.

PyYAML composes the node graph (libyaml when available) and `yamlbuild` builds plain
JSON-like values from it itself (the tags allowed are in `yamltags`), so it can refuse what a manifest must never contain:
language tags (`!!python/...`), duplicate keys, alias bombs, deep nesting, oversized
files and text that is not UTF-8. Nothing here raises on bad input: problems come back
as `Problem`s located in the file.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from reconciler.errors import Location, Problem
from reconciler.manifests.yamlbuild import MAX_DEPTH, Builder, Fail, pos
from reconciler.manifests.yamldoc import Document, json_path

MAX_BYTES = 5 * 1024 * 1024
# Flow nesting deeper than this (a rough count) goes through the pure-Python composer,
# whose recursion limit fails cleanly where libyaml's recursive composer could crash.
_SAFE_FLOW_DEPTH = 200
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """Bytes -> text, refusing oversized files and anything that is not UTF-8."""
    if len(data) > MAX_BYTES:
        return None, Problem(
            f"file is too large ({len(data)} bytes; the limit is {MAX_BYTES // (1024 * 1024)} MiB)",
            Location(file, 1, 1),
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem("file is UTF-16; save it as UTF-8", Location(file, 1, 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return None, Problem(
            f"file is not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); save it as UTF-8",
            Location(file, line, col),
        )
    return text.removeprefix("\ufeff"), None


def load_documents(data: bytes, file: str) -> tuple[list[Document], list[Problem]]:
    """Every document of a YAML stream, or the problems that stop it from loading.

    A syntax error stops the file (the documents before it are still returned); problems
    inside a document (a tag, a duplicate key) are all reported."""
    text, problem = decode(data, file)
    if text is None:
        return [], [problem] if problem else []
    return load_text(text, file)


def load_text(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    docs: list[Document] = []
    problems: list[Problem] = []
    loader_cls = yaml.SafeLoader if _rough_flow_depth(text) > _SAFE_FLOW_DEPTH else _LOADER
    loader = loader_cls(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            builder = Builder(file)
            try:
                value = builder.build(node, (), 0)
            except Fail as f:
                problems.append(Problem(f.message, Location(file, f.line, f.column, json_path(f.path))))
                index += 1
                continue
            problems.extend(builder.problems)
            docs.append(Document(file, index, value, pos(node), builder.positions, builder.key_positions))
            index += 1
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(_yaml_message(e), Location(file, line, col)))
    except yaml.YAMLError as e:
        problems.append(Problem(f"not valid YAML: {_one_line(str(e))}", Location(file, 1, 1)))
    except RecursionError:
        problems.append(Problem(f"YAML nesting is deeper than {MAX_DEPTH} levels", Location(file, 1, 1)))
    finally:
        loader.dispose()
    return docs, problems


def _yaml_message(e: yaml.MarkedYAMLError) -> str:
    problem = e.problem or "syntax error"
    if e.context and e.context not in problem:
        return f"YAML syntax error: {problem} ({e.context})"
    return f"YAML syntax error: {problem}"


@functools.lru_cache(maxsize=64)
def load_schema_text(text: str) -> Any:
    """A config schema's document (JSON, or YAML, its superset) as the platform sends it: by
    libyaml (ten times the pure-Python parser's speed) unless its flow nesting is deep enough to
    overflow libyaml's recursion. Cached: a plan validates against and looks for secret fields in
    the same few documents. The value is shared: never modify it."""
    loader = yaml.SafeLoader if _rough_flow_depth(text) > _SAFE_FLOW_DEPTH else _LOADER
    return yaml.load(text, Loader=loader)


def _one_line(s: str) -> str:
    return " ".join(s.split())


def _rough_flow_depth(text: str) -> int:
    if text.count("[") + text.count("{") <= _SAFE_FLOW_DEPTH:
        return 0
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}" and depth:
            depth -= 1
    return best
