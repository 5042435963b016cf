"""Plain values built from a composed YAML node graph, with the position of every value and key:
tags checked, aliases expanded and counted (an alias bomb stops at `MAX_NODES`), nesting
bounded, duplicate keys reported, merge keys (`<<`) filling in what a mapping leaves out."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Location, Problem
from reconciler.manifests import yamltags as tags
from reconciler.manifests.yamldoc import PathT, json_path

# Values built per document, counting every expansion of an alias: a billion-laughs document
# hits this long before it hurts, a real manifest never does.
MAX_NODES = 200_000
MAX_DEPTH = 64


class Fail(Exception):
    def __init__(self, message: str, line: int, column: int, path: PathT):
        super().__init__(message)
        self.message, self.line, self.column, self.path = message, line, column, path


def pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class Builder:
    """Builds plain values from a composed node graph, counting alias expansions."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.current: PathT = ()  # the path being built, for messages
        self.active: set[int] = set()
        self.positions: dict[PathT, tuple[int, int]] = {}
        self.key_positions: dict[PathT, tuple[int, int]] = {}
        self.problems: list[Problem] = []

    def _fail(self, message: str, node: Node) -> Fail:
        line, col = pos(node)
        return Fail(message, line, col, self.current)

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
        self.positions.setdefault(path, pos(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise self._fail("an alias refers to the node that contains it (recursive alias)", node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != tags.SEQ:
                    raise self._fail(tags.tag_message(node.tag), node)
                return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                if node.tag != tags.MAP:
                    raise self._fail(tags.tag_message(node.tag), node)
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise self._fail("unsupported YAML node", node)  # pragma: no cover

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag not in tags.SCALAR_TAGS:
            raise self._fail(tags.tag_message(node.tag), node)
        try:
            value = tags.scalar(node)
        except ValueError as e:
            raise self._fail(str(e), node) from None
        if isinstance(value, float) and not math.isfinite(value):
            # JSON (config content, plans) cannot hold it, so it is refused where it is written;
            # every one of them, so the rest of the document is still read.
            line, col = pos(node)
            where = Location(self.file, line, col, json_path(self.current))
            self.problems.append(Problem(f"{node.value!r} is not a finite number", where))
            return None
        return value

    def _pairs(self, node: MappingNode, depth: int) -> Iterator[tuple[Node, Node, bool]]:
        """The mapping's entries with merge keys (`<<`) expanded; the flag marks merged ones."""
        for key, value in node.value:
            if key.tag == tags.MERGE:
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
            if key_node.tag not in tags.SCALAR_TAGS:
                raise self._fail(tags.tag_message(key_node.tag), key_node)
            key = key_node.value
            if is_merged:
                merged.append((key, key_node, value_node))
                continue
            if key in explicit:
                first = explicit[key]
                line, col = pos(key_node)
                self.problems.append(
                    Problem(
                        f"duplicate key {key!r} (first defined at line {first.start_mark.line + 1})",
                        Location(self.file, line, col, json_path((*path, key))),
                    )
                )
                continue
            explicit[key] = key_node
            self.key_positions[(*path, key)] = pos(key_node)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        # Merged entries fill in only what the mapping does not say itself (first source wins).
        for key, key_node, value_node in merged:
            if key not in out:
                self.key_positions[(*path, key)] = pos(key_node)
                out[key] = self.build(value_node, (*path, key), depth + 1)
        return out
