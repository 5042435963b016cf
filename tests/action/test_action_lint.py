"""action.yml and the example workflows pass actionlint, and action.yml is well-formed.

actionlint lints workflows, not action metadata. It does read a local action's action.yml
when a workflow says `uses: ./`, checking the `with:` keys against its inputs. So besides
linting the examples as shipped (`uses: your-org/reconciler@v1`, copy-paste ready), each
is linted again in a scratch repo where that line points at `./` and action.yml is this one.
The structural checks actionlint does not do are asserted here directly.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
USES_SELF = re.compile(r"uses:\s*your-org/reconciler@v1")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _actionlint() -> str:
    # A failure, not a skip: the dev extra installs it, and `make test` must really lint.
    exe = Path(sys.executable).parent / "actionlint"
    assert exe.exists(), f"actionlint is not installed next to {sys.executable}: pip install -e '.[dev]'"
    return str(exe)


def _lint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", *map(str, files)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_example_workflows_are_there() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {
        "plan-on-pull-request.yml",
        "apply-on-push.yml",
        "nightly-drift.yml",
        "promote.yml",
        "sharded-by-set.yml",
        "converge-scheduled.yml",  # runs the container image (`reconcile watch --once`), not the action
    } <= names


def test_example_workflows_pass_actionlint_as_shipped() -> None:
    result = _lint(WORKFLOWS, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_workflows_pass_actionlint_against_this_action(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ACTION, tmp_path / "action.yml")
    wf_dir = tmp_path / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    for wf in WORKFLOWS:
        text = wf.read_text()
        assert USES_SELF.search(text) or "--once" in text, f"{wf.name} does not use the action"
        (wf_dir / wf.name).write_text(USES_SELF.sub("uses: ./", text))
    result = _lint(sorted(wf_dir.glob("*.yml")), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_an_unknown_input(tmp_path: Path) -> None:
    # Proves the check above is real: a misspelt input is reported against action.yml.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ACTION, tmp_path / "action.yml")
    wf = tmp_path / ".github" / "workflows" / "w.yml"
    wf.parent.mkdir(parents=True)
    text = USES_SELF.sub("uses: ./", WORKFLOWS[0].read_text()).replace("api-key:", "api_key:")
    wf.write_text(text)
    result = _lint([wf], tmp_path)
    assert result.returncode == 1 and 'input "api_key" is not defined' in result.stdout


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text())
    assert isinstance(data, dict)
    return data


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [e for k, v in node.items() for e in _expressions(k) + _expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in _expressions(v)]
    if isinstance(node, str):
        return re.findall(r"\$\{\{(.*?)\}\}", node)
    return []


def test_action_metadata_structure() -> None:
    action = _action()
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {
        "command",
        "path",
        "args",
        "python-version",
        "base-url",
        "api-key",
        "github-token",
        "comment",
    } <= set(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), f"input {name} has no description"
    assert set(action["outputs"]) >= {"has-changes", "exitcode", "plan-json"}

    steps = action["runs"]["steps"]
    ids = [s["id"] for s in steps if "id" in s]
    assert len(ids) == len(set(ids)), "duplicate step ids"
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", "composite run steps need an explicit shell"
            # Inputs reach scripts only through env: no expression inside a script
            # (script injection), so every value is quoted by the shell.
            assert "${{" not in step["run"], f"expression inside the run script of step {step.get('id')}"
        else:
            assert PINNED.match(step["uses"]), f"{step['uses']} is not pinned to a full version or SHA"

    used_inputs = set()
    step_refs: list[tuple[str, str]] = []
    for expr in _expressions(action["runs"]) + _expressions(action["outputs"]):
        used_inputs |= set(re.findall(r"\binputs\.([\w-]+)", expr))
        step_refs += re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", expr)
    assert used_inputs <= set(inputs), f"undeclared inputs used: {used_inputs - set(inputs)}"
    assert set(inputs) <= used_inputs, f"declared but unused inputs: {set(inputs) - used_inputs}"
    for ref, _ in step_refs:
        assert ref in ids, f"steps.{ref} does not exist"
    # Outputs a step references must come from an earlier step.
    order = {sid: i for i, sid in enumerate(s.get("id") for s in steps)}
    for i, step in enumerate(steps):
        refs = [r for e in _expressions(step) for r in re.findall(r"\bsteps\.([\w-]+)\.outputs\.", e)]
        for ref in refs:
            assert order[ref] < i, f"step {step.get('id')} reads steps.{ref} before it runs"
    for name, spec in action["outputs"].items():
        assert re.fullmatch(r"\$\{\{ steps\.[\w-]+\.outputs\.[\w-]+ \}\}", spec["value"]), name


def test_example_workflows_pin_actions_and_scope_tokens() -> None:
    for wf in WORKFLOWS:
        data = yaml.safe_load(wf.read_text())
        assert "permissions" in data, f"{wf.name}: set least-privilege permissions"
        for job in data["jobs"].values():
            for step in job["steps"]:
                uses = step.get("uses")
                if uses and not uses.startswith("your-org/reconciler@"):
                    assert PINNED.match(uses), f"{wf.name}: {uses} is not pinned"
        assert "${{ secrets." not in "".join(
            s.get("run", "") for j in data["jobs"].values() for s in j["steps"]
        ), wf.name
    apply = yaml.safe_load((ROOT / "examples/workflows/apply-on-push.yml").read_text())
    assert apply["concurrency"] == {"group": "reconcile-apply", "cancel-in-progress": False}
    assert apply[True]["push"]["branches"] == ["main"]  # yaml 1.1 reads `on` as True
    drift = yaml.safe_load((ROOT / "examples/workflows/nightly-drift.yml").read_text())
    assert "schedule" in drift[True]


def test_pre_commit_hook(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "reconcile-validate")
    assert hook["language"] == "python" and hook["entry"] == "reconcile validate"
    assert hook["pass_filenames"] is False
    assert hook["always_run"] is True and "files" not in hook  # config content is any file
    # What pre-commit runs: the entry plus the hook's `args` (here the project directory).
    entry = [str(Path(sys.executable).parent / hook["entry"].split()[0]), *hook["entry"].split()[1:]]
    shutil.copytree(ROOT / "examples", tmp_path / "fleet", ignore=shutil.ignore_patterns(".reconcile"))
    ok = subprocess.run([*entry, "fleet"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "fleet/deploymentsets/bad.yaml").write_text("kind: DeploymentSet\nspec: [\n")
    bad = subprocess.run([*entry, "fleet"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "fleet/deploymentsets/bad.yaml:" in bad.stderr


def test_actionlint_checks_action_metadata_through_uses_dot(tmp_path: Path) -> None:
    # actionlint loads ./action.yml for `uses: ./`, so a malformed action.yml fails the lint.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "action.yml").write_text(ACTION.read_text().replace("\nruns:\n", "\nrunz:\n"))
    wf = tmp_path / ".github" / "workflows" / "w.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(USES_SELF.sub("uses: ./", WORKFLOWS[0].read_text()))
    result = _lint([wf], tmp_path)
    assert result.returncode == 1 and '"runs.using" is missing' in result.stdout
