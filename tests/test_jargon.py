"""No user-facing text, schema, doc or docstring uses the team's internal labels: a user
cannot look up "seed 003" or "EMU-EXTRA". The product names the thing instead (the rollout
object, the enrollment history service). Tests may use the labels."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("reconciler", "schemas", "docs", "README.md")
LABELS = re.compile(
    r"(?i:\bseed 00[\dN]\b)"  # the platform documents, by their number in the team's shared folder
    r"|\bEMU-EXTRA\b|\bLOADER\b"  # names of the team's work items
    r"|\b(?:PLAN|APPLY|LOADER|EMU|PLANNER)'s\b"
    r"|(?i:\bthe (?:team )?brief\b)"
)


def labels_in(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in LABELS.finditer(line):
                found.append(
                    f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{n}: {m.group()}"
                )
    return found


def product_files() -> list[Path]:
    out: list[Path] = []
    for name in PRODUCT:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        out += [f for f in files if f.is_file() and f.suffix in (".py", ".json", ".md", ".yaml", ".yml", "")]
    return out


def test_no_internal_labels_in_the_product() -> None:
    assert labels_in(product_files()) == []


def test_each_label_is_found(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(
        "Follows Seed 003's rollout object.\nserved as in seed 001\nEMU-EXTRA serves it\n"
        "LOADER's Source protocol\nsee the team brief\nclean: a _LOADER class, the seed file, seed 1000\n"
    )
    found = [f.split(": ", 1)[1] for f in labels_in([bad])]
    assert found == ["Seed 003", "seed 001", "EMU-EXTRA", "LOADER", "the team brief"]
