"""Module and function sizes of the `reconciler` package: `python tools/sizes.py [root]`.

A module's size is its raw line count (what `wc -l` says). A function's size is the raw lines from
its `def` to its last line (decorators excluded); a nested def counts as a function of its own, and
its lines count in its parent's too. `tests/test_sizes.py` holds the package to the limits below.
"""

from __future__ import annotations

import ast
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_MEDIAN_LIMIT = 120  # lines; the median module stays below it
FUNCTION_P90_LIMIT = 30  # lines; nine functions in ten stay below it


@dataclass(frozen=True)
class Sizes:
    modules: dict[str, int]  # path relative to the root -> lines
    functions: dict[str, int]  # "path:line name" -> lines

    @property
    def module_median(self) -> float:
        return statistics.median(self.modules.values())

    def function_percentile(self, p: int) -> float:
        """The p-th percentile of function sizes (nearest rank, so it is a real function's size)."""
        ordered = sorted(self.functions.values())
        rank = max(1, -(-p * len(ordered) // 100))  # ceil(p * n / 100)
        return ordered[rank - 1]

    def largest_modules(self, n: int = 10) -> list[tuple[str, int]]:
        return sorted(self.modules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def largest_functions(self, n: int = 10) -> list[tuple[str, int]]:
        return sorted(self.functions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def below(self, limit: int) -> int:
        """How many modules are shorter than `limit` lines."""
        return sum(1 for lines in self.modules.values() if lines < limit)


def measure(root: Path = ROOT, package: str = "reconciler") -> Sizes:
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        modules[rel] = len(text.splitlines())
        for node in ast.walk(ast.parse(text, rel)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                functions[f"{rel}:{node.lineno} {node.name}"] = end - node.lineno + 1
    return Sizes(modules, functions)


def problems(
    sizes: Sizes, median_limit: int = MODULE_MEDIAN_LIMIT, p90_limit: int = FUNCTION_P90_LIMIT
) -> list[str]:
    """Each limit the package breaks, naming the largest modules or functions (where to split)."""
    out: list[str] = []
    if sizes.module_median >= median_limit:
        names = ", ".join(f"{name} ({lines})" for name, lines in sizes.largest_modules(5))
        out.append(
            f"the median module has {sizes.module_median:g} lines, the limit is below {median_limit}: "
            f"split a module by concern, largest first: {names}"
        )
    p90 = sizes.function_percentile(90)
    if p90 >= p90_limit:
        names = ", ".join(f"{name} ({lines})" for name, lines in sizes.largest_functions(5))
        out.append(
            f"the 90th-percentile function has {p90:g} lines, the limit is below {p90_limit}: "
            f"shorten the largest: {names}"
        )
    return out


def report(sizes: Sizes, top: int = 10) -> str:
    lines = [
        f"modules: {len(sizes.modules)}, median {sizes.module_median:g} lines "
        f"(limit {MODULE_MEDIAN_LIMIT}), {sizes.below(MODULE_MEDIAN_LIMIT)} below {MODULE_MEDIAN_LIMIT}",
        f"functions: {len(sizes.functions)}, p50 {sizes.function_percentile(50):g}, "
        f"p90 {sizes.function_percentile(90):g} lines (limit {FUNCTION_P90_LIMIT})",
        "largest modules:",
        *(f"  {lines:5d}  {name}" for name, lines in sizes.largest_modules(top)),
        "largest functions:",
        *(f"  {lines:5d}  {name}" for name, lines in sizes.largest_functions(top)),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else ROOT
    sizes = measure(root)
    print(report(sizes))
    found = problems(sizes)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
