"""Safe YAML with a line and column for every node.

PyYAML composes the node graph (libyaml when available) and this module builds plain
JSON-like values from it itself, so it can refuse what a manifest must never contain:
language tags (`!!python/...`), duplicate keys, alias bombs, deep nesting, oversized
files and text that is not UTF-8. Nothing here raises on bad input: problems come back
as `Problem`s located in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Location, Problem

MAX_BYTES = 5 * 1024 * 1024
# Values built per document, counting every expansion of an alias: a billion-laughs document
# hits this long before it hurts, a real manifest never does.
MAX_NODES = 200_000
MAX_DEPTH = 64
# Flow nesting deeper than this (a rough count) goes through the pure-Python composer,
# whose recursion limit fails cleanly where libyaml's recursive composer could crash.
_SAFE_FLOW_DEPTH = 200

PathT = tuple[str | int, ...]

_Y = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = _Y + "str", _Y + "null", _Y + "bool", _Y + "int", _Y + "float"
_TIMESTAMP, _MAP, _SEQ, _MERGE = _Y + "timestamp", _Y + "map", _Y + "seq", _Y + "merge"
_SCALAR_TAGS = {_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP}
_CONSTRUCTOR = SafeConstructor()
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    """One YAML document: its data and where each part of it is (1-based line, column).

    `positions` maps a JSON path (tuple of keys and indexes) to where its value starts;
    `key_positions` maps the path of a mapping entry to where its key starts."""

    file: str
    index: int
    data: Any
    start: tuple[int, int]
    positions: Mapping[PathT, tuple[int, int]] = field(default_factory=dict)
    key_positions: Mapping[PathT, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathT = (), *, key: bool = False) -> tuple[int, int]:
        """The position of `path` (its key when `key`), or of its nearest located ancestor."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), self.start)

    def loc(self, path: PathT = (), *, key: bool = False) -> Location:
        line, col = self.where(path, key=key)
        return Location(self.file, line, col, json_path(path))

    def problem(self, message: str, path: PathT = (), *, key: bool = False) -> Problem:
        return Problem(message, self.loc(path, key=key))


def json_path(path: PathT) -> str:
    """`("spec", "configs", "motion-control", 0)` -> `$.spec.configs['motion-control'][0]`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def dotted(path: PathT) -> str:
    """A short human form of a path for messages: `spec.overrides[0].devices`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Fail(Exception):
    def __init__(self, message: str, line: int, column: int, path: PathT):
        super().__init__(message)
        self.message, self.line, self.column, self.path = message, line, column, path


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
            builder = _Builder(file)
            try:
                value = builder.build(node, (), 0)
            except _Fail as f:
                problems.append(Problem(f.message, Location(file, f.line, f.column, json_path(f.path))))
                index += 1
                continue
            problems.extend(builder.problems)
            docs.append(Document(file, index, value, _pos(node), builder.positions, builder.key_positions))
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


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_Y) :] if tag.startswith(_Y) else tag


def _tag_message(tag: str) -> str:
    return (
        f"tag {_short_tag(tag)} is not allowed: manifests are plain YAML "
        "(no language-specific or custom tags)"
    )


class _Builder:
    """Builds plain values from a composed node graph, counting alias expansions."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.current: PathT = ()  # the path being built, for messages
        self.active: set[int] = set()
        self.positions: dict[PathT, tuple[int, int]] = {}
        self.key_positions: dict[PathT, tuple[int, int]] = {}
        self.problems: list[Problem] = []

    def _fail(self, message: str, node: Node) -> _Fail:
        line, col = _pos(node)
        return _Fail(message, line, col, self.current)

    def build(self, node: Node, path: PathT, depth: int) -> Any:
        self.current = path
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                f"document expands to more than {MAX_NODES} values "
                "(aliases repeated too often; an alias bomb?)",
                node,
            )
        if depth > MAX_DEPTH:
            raise self._fail(f"YAML nesting is deeper than {MAX_DEPTH} levels", node)
        self.positions.setdefault(path, _pos(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise self._fail("an alias refers to the node that contains it (recursive alias)", node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _SEQ:
                    raise self._fail(_tag_message(node.tag), node)
                return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag != _MAP:
                    raise self._fail(_tag_message(node.tag), node)
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise self._fail("unsupported YAML node", node)  # pragma: no cover

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise self._fail(_tag_message(tag), node)
        if tag in (_STR, _TIMESTAMP):
            # Dates stay text: a release named 2026-01-01 is a string, not a datetime.
            return node.value
        if tag == _NULL:
            return None
        try:
            if tag == _BOOL:
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if tag == _INT:
                return _CONSTRUCTOR.construct_yaml_int(node)
            value = _CONSTRUCTOR.construct_yaml_float(node)
        except (ValueError, KeyError, yaml.YAMLError):
            raise self._fail(f"{node.value!r} is not a valid {_short_tag(tag)[2:]}", node) from None
        if not math.isfinite(value):
            # JSON (config content, plans) cannot hold it, so it is refused where it is written;
            # every one of them, so the rest of the document is still read.
            line, col = _pos(node)
            where = Location(self.file, line, col, json_path(self.current))
            self.problems.append(Problem(f"{node.value!r} is not a finite number", where))
            return None
        return value

    def _pairs(self, node: MappingNode, depth: int) -> Iterator[tuple[Node, Node, bool]]:
        """The mapping's entries with merge keys (`<<`) expanded; the flag marks merged ones."""
        for key, value in node.value:
            if key.tag == _MERGE:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for src in sources:
                    if not isinstance(src, MappingNode):
                        raise self._fail("a merge key (<<) needs a mapping or a list of mappings", src)
                    if id(src) in self.active:
                        raise self._fail(
                            "an alias refers to the node that contains it (recursive alias)", src
                        )
                    self.active.add(id(src))
                    try:
                        for k, v, _ in self._pairs(src, depth + 1):
                            yield k, v, True
                    finally:
                        self.active.discard(id(src))
            else:
                yield key, value, False

    def _mapping(self, node: MappingNode, path: PathT, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        explicit: dict[str, Node] = {}
        merged: list[tuple[str, Node, Node]] = []
        for key_node, value_node, is_merged in self._pairs(node, depth):
            self.count += 1
            if not isinstance(key_node, ScalarNode):
                raise self._fail("mapping keys must be plain scalars, not lists or mappings", key_node)
            if key_node.tag not in _SCALAR_TAGS:
                raise self._fail(_tag_message(key_node.tag), key_node)
            key = key_node.value
            if is_merged:
                merged.append((key, key_node, value_node))
                continue
            if key in explicit:
                first = explicit[key]
                line, col = _pos(key_node)
                self.problems.append(
                    Problem(
                        f"duplicate key {key!r} (first defined at line {first.start_mark.line + 1})",
                        Location(self.file, line, col, json_path((*path, key))),
                    )
                )
                continue
            explicit[key] = key_node
            self.key_positions[(*path, key)] = _pos(key_node)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        # Merged entries fill in only what the mapping does not say itself (first source wins).
        for key, key_node, value_node in merged:
            if key not in out:
                self.key_positions[(*path, key)] = _pos(key_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
        return out
