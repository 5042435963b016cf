"""A hostile fleet: device names, a release version, config values and enrollment logs written
to drive a terminal or inject into a pull request. Every command in every format shows them
inert (issue 12): no raw control character, no HTML, link, mention or heading in markdown,
JSON exact."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler import escape
from reconciler.ci import apply_report, report, validate_report
from reconciler.ci.runner import RunnerEnv
from reconciler.cli import main
from tests.apply.helpers import on_a_terminal
from tests.harness import Harness, example_configs, example_platform, make_harness

CLIENT_ID = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
TEN_KB = "n" * 10_240
NAMES = [
    "</details><img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "@octocat",
    "amr\r\n### heading",
    "clear\x1b[2J",
    "\x1b]8;;https://evil.example\x07osc8\x1b]8;;\x07",
    "bell\x07",
    "back\x08\x08space",
    "\u202eevil-rtl",
    "nul\x00byte",
    "c1\x85\x9b31m",
    "zw\u200d\u200bj",
    "[bold]x[/bold]",
    "[link=https://x]y[/link]",
    TEN_KB,
]
SPARE = "spare\x1b[2J</details>"
VERSION = "v9\x1b[2J</details>@octocat"
MAP = "map\x1b]8;;https://evil.example\x07</summary>[x](https://evil.example)"
LOGS = [
    "log with `` double backtick `` inside",
    "\x1b[2J</details><img src=x onerror=alert(1)>",
    "@octocat [x](https://evil.example)\r\n### heading",
]
# What a terminal or a browser would act on, as the fleet spells it.
RAW = ["\x1b[2J", "\x1b]8", "\x07", "\x08", "\u202e", "\x00", "\x85", "\x9b", "\u200d", "\u200b"]
OUR_TAGS = {"details", "summary", "sub", "code", "br"}


def hostile_seed() -> dict[str, Any]:
    seed = example_platform()
    seed["releases"].append(
        {"version": VERSION, "schemas": ["motion-control@v1", "localization@v1", "operator-notes@v1"]}
    )
    configs = example_configs()
    configs["localization"]["map"] = MAP
    seed["devices"] = [
        {
            "name": name,
            "group": "warehouse-east",
            "status": "online",
            "release": VERSION,
            "configs": configs,
            "agent": {"behaviour": "ok", "delay": 1},
        }
        for name in NAMES
    ] + [{"name": SPARE, "group": "warehouse-east", "status": "inactive"}]
    seed["enrollments"] = [
        {
            "device": SPARE,
            "id": "c2d3e4f5-a6b7-8901-bcde-f12345678901",
            "status": "error",
            "enrollment_date": "2026-01-29T09:00:00.000Z",
            "enrollment_token_id": "e1f2a3b4-c5d6-7890-abcd-ef1234567890",
            "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
            "error_logs": LOGS,
            "created_at": "2026-01-29T09:00:00.000Z",
            "updated_at": "2026-01-29T09:00:15.000Z",
        }
    ]
    return seed


def write_project(root: Path, db: str) -> Path:
    root.mkdir(parents=True)
    (root / "reconcile.yaml").write_text(
        yaml.safe_dump(
            {
                "target": {"emulator": {"db": db}},
                "manifests": ["sets/*.yaml"],
                "enrollment": {"base_url": "/v2", "client_id": CLIENT_ID},
            }
        )
    )
    cfg = example_configs()
    (root / "configs").mkdir()
    (root / "configs" / "motion-control.json").write_text(json.dumps(cfg["motion-control"]))
    (root / "configs" / "localization.yaml").write_text(yaml.safe_dump(cfg["localization"]))
    (root / "sets").mkdir()
    spec = {
        "selector": {"groups": ["fleet"]},
        "release": "v1.4.2",
        "configs": {
            "motion-control": {"file": "../configs/motion-control.json", "values": {"max_speed": 1.2}},
            "localization": {"file": "../configs/localization.yaml"},
        },
        "rollout": {
            "strategy": "canary",
            "canary_count": 3,
            "auto_promote": False,
            "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
        },
    }
    doc = {"apiVersion": "reconciler/v1", "kind": "DeploymentSet", "metadata": {"name": "east"}, "spec": spec}
    (root / "sets" / "east.yaml").write_text(yaml.safe_dump(doc))
    return root


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def on_a_pty(args: list[str]) -> Run:
    exe = shutil.which("reconcile", path=str(Path(sys.executable).parent))
    assert exe is not None
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    env["TERM"] = "xterm-256color"
    code, shown = on_a_terminal([exe, *args], env)
    return Run(tuple(args), code, shown.decode("utf-8", errors="replace"), "")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Run], dict[str, Run]]]:
    """Every command in every format, in an order that leaves something for each to show."""
    tmp = tmp_path_factory.mktemp("hostile")
    emu: Harness = make_harness(str(tmp / "emulator.db"))
    asyncio.run(emu.seed(hostile_seed()))
    root = write_project(tmp / "project", str(tmp / "emulator.db"))
    plan_file = tmp / "plan.json"
    out: dict[str, Run] = {}

    def cli(key: str, *args: str) -> None:
        r = CliRunner().invoke(main, list(args), catch_exceptions=False)
        out[key] = Run(args, r.exit_code, r.stdout, r.stderr)

    p = str(root)
    for fmt in ("text", "json", "github"):
        cli(f"validate-{fmt}", "validate", p, "--online", "--format", fmt)
    for fmt in ("text", "json", "markdown"):
        cli(f"plan-{fmt}", "plan", p, "--format", fmt)
    cli("plan-out", "plan", p, "--out", str(plan_file))
    # On a real terminal too (rich's own progress sequences are allowed there, nothing else).
    pty = {"plan": on_a_pty(["plan", p]), "drift": on_a_pty(["drift", p])}
    for fmt in ("text", "json"):
        cli(f"drift-{fmt}", "drift", p, "--format", fmt)
    cli("apply-text", "apply", p, "--plan", str(plan_file), "--auto-approve")  # canaries, then a pause
    pty["apply"] = on_a_pty(["apply", p, "--promote", "--auto-approve"])  # the rest, rich progress
    for fmt in ("text", "json"):
        cli(f"status-{fmt}", "status", p, "--format", fmt)
    cli("apply-json", "apply", p, "--auto-approve", "--format", "json")
    cli("drift-after", "drift", p)
    pty["status"] = on_a_pty(["status", p])
    out["plan-file"] = Run(("plan.json",), 0, plan_file.read_text() if plan_file.exists() else "", "")
    emu.close()
    yield out, pty


def shown_to_a_person(runs: dict[str, Run]) -> Iterator[tuple[str, str]]:
    for key, r in runs.items():
        yield f"{key} stderr", r.stderr
        yield f"{key} stdout", r.stdout


def test_every_command_ran_and_showed_the_fleet(runs: tuple[dict[str, Run], dict[str, Run]]) -> None:
    out, _ = runs
    for key, r in out.items():
        assert r.code in (0, 2), f"{key}: exit {r.code}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr, key
    text = out["plan-text"].stdout + out["apply-text"].stdout
    # Shown, never interpreted: rich markup stays text, escapes are visible, long names cut.
    assert "[bold]x[/bold]" in text and "[link=https://x]y[/link]" in text
    assert "clear\\x1b[2J" in text and "\\u202eevil-rtl" in text and "amr\\x0d\\x0a### heading" in text
    assert "nul\\x00byte" in text and "c1\\x85\\x9b31m" in text and "zw\\u200d\\u200bj" in text
    assert TEN_KB not in text and "…(+10040 chars)" in text
    assert "v9\\x1b[2J</details>@octocat" in text  # the release version
    assert "|   log with `` double backtick `` inside" in text  # the enrollment log
    assert "\\x1b]8;;https://evil.example\\x07osc8" in out["drift-text"].stdout
    assert "v9\\x1b[2J</details>@octocat" in out["status-text"].stdout
    assert "\\x1b]8;;https://evil.example\\x07osc8" in out["apply-text"].stderr  # progress


def test_no_raw_control_character_reaches_a_terminal(runs: tuple[dict[str, Run], dict[str, Run]]) -> None:
    out, _ = runs
    for where, text in shown_to_a_person(out):
        hidden = sorted({f"U+{ord(c):04X}" for c in text if escape.is_hidden(c) and c != "\n"})
        assert hidden == [], f"{where}: raw {hidden}"


def test_json_round_trips_every_name_exactly(runs: tuple[dict[str, Run], dict[str, Run]]) -> None:
    out, _ = runs
    for key in ("plan-json", "plan-file"):
        plan = json.loads(out[key].stdout)
        assert {c["device"] for c in plan["changes"]} == {*NAMES, SPARE}
        (spare,) = [c for c in plan["changes"] if c["device"] == SPARE]
        assert all(any(log in line for line in spare["diagnostics"]) for log in LOGS)
        assert {c["release_from"] for c in plan["changes"] if c["action"] == "upgrade"} == {VERSION}
    drift = json.loads(out["drift-json"].stdout)
    assert {i["device"] for i in drift["items"]} >= set(NAMES)
    applied = json.loads(out["apply-json"].stdout)
    assert SPARE in {b["device"] for b in applied["blocked"]}
    status = json.loads(out["status-json"].stdout)
    assert status["rollouts"][0]["from_version"] == VERSION


def code_spans(line: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"(?<!`)(`+)(?!`)(.*?)(?<!`)\1(?!`)", line)]


def check_markdown(where: str, md: str) -> None:
    assert [c for c in md if escape.is_hidden(c) and c != "\n"] == [], where
    prose = []
    fenced = False
    for line in md.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        # Inside code nothing is HTML, link or mention: checked outside code spans only, and
        # every span closes on its line (its fence is longer than any backtick run inside).
        rest = re.sub(r"(?<!`)(`+)(?!`)(.*?)(?<!`)\1(?!`)", "", line)
        assert "`" not in rest, f"{where}: an unclosed code span in {line[:200]!r}"
        prose.append(rest)
    text = "\n".join(prose)
    assert text.count("<details>") == text.count("</details>"), f"{where}: unbalanced <details>"
    tags = {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9-]*)", text)}
    assert tags <= OUR_TAGS, f"{where}: raw HTML {tags - OUR_TAGS}"
    assert not re.search(r"\]\(|<https?:|://|www\.", text), f"{where}: a live link"
    assert not re.search(r"@\w", text), f"{where}: a live mention"
    assert not re.search(r"(?m)^\s*#+ heading", text), f"{where}: an injected heading"


def test_markdown_outputs_are_inert(runs: tuple[dict[str, Run], dict[str, Run]]) -> None:
    out, _ = runs
    md = out["plan-markdown"].stdout
    check_markdown("plan markdown", md)
    assert "&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt;" in md
    assert "@&#8203;octocat" in md and "https:&#8203;//evil.example" in md
    assert "```   log with `` double backtick `` inside ```" in md  # the enrollment log's code span
    env = RunnerEnv()  # no repository: no links of our own to tell apart
    check_markdown("drift summary", report.drift_markdown("fleet", 2, out["drift-text"].stdout, ""))
    apply_json = out["apply-json"]
    check_markdown(
        "apply summary",
        apply_report.apply_markdown("fleet", 1, apply_json.stdout, "error: " + NAMES[0], "art"),
    )
    problems = [validate_report.ValidationProblem(f"sets/{n}.yaml", 3, 4, f"device {n!r} {n}") for n in NAMES]
    check_markdown("validate summary", validate_report.problems_markdown(env, "fleet", problems))
    check_markdown("failure", report.failure_markdown("plan", "\n".join([*NAMES, *LOGS, "```", "````"])))


def test_a_pseudo_terminal_shows_nothing_raw(runs: tuple[dict[str, Run], dict[str, Run]]) -> None:
    _, pty = runs
    for name, r in pty.items():
        assert r.code in (0, 2), r.stdout[-2000:]
        for raw in RAW:
            assert raw not in r.stdout, f"{name}: raw {raw!r} on the terminal"
    assert "[bold]x[/bold]" in pty["plan"].stdout and "\\x1b]8;;https" in pty["drift"].stdout
    assert "v9\\x1b[2J</details>@octocat" in pty["status"].stdout
    # --promote continues from the platform: the 3 canaries already run the content, 12 follow
    assert "12 succeeded" in pty["apply"].stdout
    assert any("[link=https://x]y[/link]" in r.stdout for r in pty.values())
