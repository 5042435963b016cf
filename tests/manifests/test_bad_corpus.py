"""Every bad manifest in tests/manifests/bad/ fails with exactly the problems in its
expected.txt (file:line:col: error: message), and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus import BAD, problems_of

CASES = sorted(p for p in BAD.iterdir() if p.is_dir())


def test_corpus_is_large() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_manifest(case: Path, tmp_path: Path) -> None:
    expected = (case / "expected.txt").read_text().splitlines()
    assert expected, "a bad case must expect at least one problem"
    assert problems_of(case, tmp_path) == expected
