"""`extends:` between DeploymentSets, checked without a platform: the base exists, is not the
set itself, and no chain of bases comes back to where it started."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

from reconciler.errors import Problem
from reconciler.manifests.yamldoc import Document
from reconciler.model.project import DeploymentSet

Built = Sequence[tuple[DeploymentSet, Document]]
AT = ("spec", "extends")


def problems(sets: Built, named: Collection[str]) -> list[Problem]:
    """`named`: every DeploymentSet name written, valid document or not (a base whose document
    is broken has its own errors; its layers are not reported as extending nothing)."""
    by_name = {s.name: s for s, _ in sets}
    out: list[Problem] = []
    for s, doc in sets:
        base = s.extends
        if base is None:
            continue
        if base == s.name:
            out.append(doc.problem(f"spec.extends: DeploymentSet {s.name!r} cannot extend itself", AT))
        elif base not in by_name and base not in named:
            close = difflib.get_close_matches(base, sorted(by_name), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(doc.problem(f"spec.extends: there is no DeploymentSet named {base!r}{hint}", AT))
        else:
            loop = _cycle(s.name, by_name)
            if loop:
                out.append(
                    doc.problem(
                        f"spec.extends: {' -> '.join(repr(n) for n in loop)} is a cycle; "
                        "a chain of extends must end at a set that extends nothing",
                        AT,
                    )
                )
    return out


def _cycle(start: str, by_name: dict[str, DeploymentSet]) -> list[str]:
    """The chain from `start` back to `start`, or [] when it ends (or meets a cycle elsewhere)."""
    chain = [start]
    cur = by_name[start].extends
    while cur is not None and cur in by_name:
        if cur == start:
            return [*chain, cur]
        if cur in chain:
            return []
        chain.append(cur)
        cur = by_name[cur].extends
    return []


def order(sets: Built) -> list[str]:
    """Set names, each after the set it extends (for sets without cycles)."""
    by_name = {s.name: s for s, _ in sets}
    out: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen or name in path or name not in by_name:
            return
        base = by_name[name].extends
        if base is not None:
            visit(base, (*path, name))
        seen.add(name)
        out.append(name)

    for s, _ in sets:
        visit(s.name, ())
    return out


def related(sets: Built) -> set[tuple[str, str]]:
    """(set, a set it extends, directly or not): pairs that may select the same devices."""
    by_name = {s.name: s for s, _ in sets}
    out: set[tuple[str, str]] = set()
    for s, _ in sets:
        cur, seen = s.extends, {s.name}
        while cur is not None and cur in by_name and cur not in seen:
            out.add((s.name, cur))
            seen.add(cur)
            cur = by_name[cur].extends
    return out
