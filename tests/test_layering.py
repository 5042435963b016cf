"""The layers of docs/architecture.md, checked on every import in `reconciler/` (an `ast`
walk: imports inside functions count too).

model/ (pure types) <- manifests/, plan/ (pure), strategies/ <- platform/ (all network I/O)
<- apply/ <- commands/ (the composition root; `commands/wiring.py` alone mounts the emulator).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTTP = ("httpx", "miru_platform_sdk", "starlette", "uvicorn")
# The only product modules that may import the emulator (besides the emulator itself).
EMULATOR_IMPORTERS = ("commands/wiring.py", "commands/emulator.py")


@dataclass(frozen=True)
class Rule:
    layer: str  # a folder of the package, e.g. "plan"
    forbidden: tuple[str, ...]  # module prefixes it must not import
    why: str


RULES = (
    Rule(
        "plan",
        ("platform", "apply", "commands", "emulator", "ci", *HTTP),
        "plan/ is pure: it gets live state as data",
    ),
    Rule("platform", ("plan", "apply", "commands", "emulator", "ci"), "platform/ is below plan/ and apply/"),
    Rule(
        "manifests",
        ("ci", "plan", "platform", "apply", "commands", "emulator", *HTTP),
        "manifests/ reads files",
    ),
    Rule(
        "strategies",
        ("platform", "apply", "commands", "emulator", *HTTP),
        "strategies decide, they do no I/O",
    ),
    Rule("apply", ("commands", "emulator"), "apply/ gets its platform and clock from the command layer"),
)
MODEL_ALLOWED = ("reconciler.model", "reconciler.errors")


def _imports(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            yield base, node.lineno
            for alias in node.names:  # `from reconciler import emulator` imports a module too
                yield f"{base}.{alias.name}", node.lineno


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path, package: str = "reconciler") -> list[str]:
    """Every import in `root/package` that breaks a layering rule, as `file:line: message`."""
    out: list[str] = []
    top = root / package
    for path in sorted(top.rglob("*.py")):
        rel = path.relative_to(top).as_posix()
        layer = rel.split("/")[0] if "/" in rel else ""
        module = ".".join([package, *Path(rel).with_suffix("").parts])
        reported: set[int] = set()  # one report per import statement
        for name, line in _imports(path, module):
            problem = _check(rel, layer, name, package)
            if problem and line not in reported:
                reported.add(line)
                out.append(f"{package}/{rel}:{line}: imports {name}: {problem}")
        if layer == "plan":
            out += [f"{package}/{rel}:{line}: {what}" for line, what in sorted(_async_in(path))]
    return out


def _check(rel: str, layer: str, name: str, package: str) -> str | None:
    if _under(name, f"{package}.emulator") and layer != "emulator" and rel not in EMULATOR_IMPORTERS:
        return f"only {' and '.join(EMULATOR_IMPORTERS)} may import the emulator"
    if layer == "model":
        top = name.split(".")[0]
        if top == package and not any(_under(name, a.replace("reconciler", package)) for a in MODEL_ALLOWED):
            return "model/ imports only the standard library, model/ and errors"
        if top != package and top not in sys.stdlib_module_names and top != "__future__":
            return "model/ imports only the standard library, model/ and errors"
    for rule in RULES:
        if layer != rule.layer:
            continue
        for f in rule.forbidden:
            target = f if f in HTTP else f"{package}.{f}"
            if _under(name, target):
                return rule.why
    return None


def _async_in(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            yield node.lineno, "plan/ is pure: no async code"


def test_the_product_keeps_its_layers() -> None:
    assert violations(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in {"reconciler/__init__.py": "", **files}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_each_forbidden_import_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "reconciler/plan/build.py": "from reconciler.platform.live import read_live_state\n",
            "reconciler/plan/fetch.py": "def f():\n    import httpx\n",
            "reconciler/plan/wait.py": "async def f():\n    pass\n",
            "reconciler/model/live.py": "import dataclasses\nfrom reconciler.plan import build\n",
            "reconciler/model/sdk.py": "import miru_platform_sdk\n",
            "reconciler/platform/writes.py": "from ..apply import rollout\n",
            "reconciler/manifests/report.py": "from reconciler.ci.runner import command\n",
            "reconciler/apply/clock.py": "from reconciler import emulator\n",
            "reconciler/commands/wiring.py": "from reconciler.emulator.app import create_app\n",
            "reconciler/commands/emulator.py": "from reconciler.emulator.serve import serve\n",
            "reconciler/emulator/app.py": "from reconciler.emulator import store\n",
        },
    )
    found = violations(root)
    flagged = sorted({v.split(":")[0] for v in found})
    assert flagged == [
        "reconciler/apply/clock.py",
        "reconciler/manifests/report.py",
        "reconciler/model/live.py",
        "reconciler/model/sdk.py",
        "reconciler/plan/build.py",
        "reconciler/plan/fetch.py",
        "reconciler/plan/wait.py",
        "reconciler/platform/writes.py",
    ], found
    assert "reconciler/plan/fetch.py:2: imports httpx: plan/ is pure: it gets live state as data" in found
    assert (
        "reconciler/platform/writes.py:1: imports reconciler.apply: platform/ is below plan/ and apply/"
        in found
    )
    assert any("only commands/wiring.py and commands/emulator.py may import the emulator" in v for v in found)


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "reconciler/model/plan.py": "from __future__ import annotations\nimport json\nfrom reconciler.errors import X\n",
            "reconciler/plan/build.py": "from reconciler.model.plan import Plan\n",
            "reconciler/platform/writes.py": "import httpx\nfrom reconciler.model.plan import PlannedInstance\n",
        },
    )
    assert violations(root) == []
