"""Modules and functions stay short: the median module below 120 lines, nine functions in ten
below 30 (`tools/sizes.py` measures; run it to see the largest)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sizes_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sizes_tool", ROOT / "tools" / "sizes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


sizes = _sizes_tool()


@pytest.fixture(scope="module")
def measured() -> Any:
    return sizes.measure(ROOT)


def test_module_median_and_function_p90_stay_under_the_limits(measured: Any) -> None:
    assert len(measured.modules) > 50, "the walk found the package"
    assert sizes.problems(measured) == [], sizes.report(measured)


@pytest.mark.parametrize(
    ("median_limit", "p90_limit", "expected"),
    [(10, 10**6, "median module"), (10**6, 3, "90th-percentile")],
)
def test_the_check_fails_and_names_the_largest_when_a_limit_is_tighter(
    measured: Any, median_limit: int, p90_limit: int, expected: str
) -> None:
    """The same check with a limit the package cannot meet: it fails, naming where to split."""
    found = sizes.problems(measured, median_limit=median_limit, p90_limit=p90_limit)
    assert len(found) == 1 and expected in found[0], found
    largest = measured.largest_modules(1) if expected == "median module" else measured.largest_functions(1)
    assert largest[0][0] in found[0]


def test_sizes_count_raw_lines_and_nested_defs_on_their_own(tmp_path: Path) -> None:
    package = tmp_path / "reconciler"
    package.mkdir()
    (package / "a.py").write_text(
        "import functools\n\n\n@functools.cache\ndef outer() -> int:\n"
        "    def inner() -> int:\n        return 1\n\n    return inner()\n",
        encoding="utf-8",
    )
    (package / "b.py").write_text("x = 1\n" * 7, encoding="utf-8")
    measured = sizes.measure(tmp_path)
    assert measured.modules == {"reconciler/a.py": 9, "reconciler/b.py": 7}
    assert measured.functions == {"reconciler/a.py:5 outer": 5, "reconciler/a.py:6 inner": 2}
    assert measured.module_median == 8
    assert measured.function_percentile(90) == 5 and measured.function_percentile(50) == 2
