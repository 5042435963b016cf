"""Webhook notifications: bodies, secrets kept out of every message, the project file's
`notify:` entries, and a paused rollout announced by `reconcile watch`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import yaml

from reconciler.commands import watch_round
from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.project import NOTIFY_EVENTS, Webhook
from reconciler.platform import notify
from tests.adopt.test_watch import Receiver, rounds
from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet

URL = "https://hooks.example.com/services/T0/B0/very-secret-token"


def test_slack_body_escapes_what_slack_would_read_as_mentions_or_links() -> None:
    event = notify.Event("drift", "1 device(s) differ: <!channel> & <http://x|y>", target="t")
    text = notify.body(Webhook("H"), event)["text"]
    assert "<" not in text and ">" not in text and "&lt;!channel&gt;" in text
    raw = notify.body(Webhook("H", format="raw"), event)
    assert raw["event"] == "drift" and raw["text"] == event.text


def test_the_url_is_never_in_a_problem() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    event = notify.Event("blocked", "2 device(s) blocked")
    hooks = [Webhook("HOOK_A"), Webhook("HOOK_B", events=("drift",)), Webhook("HOOK_UNSET")]
    env = {"HOOK_A": URL, "HOOK_B": URL}
    problems = asyncio.run(notify.send(hooks, [event], env=env, transport=httpx.MockTransport(refuse)))
    assert problems == [
        "notify: the webhook in $HOOK_A answered HTTP 500",
        "notify: $HOOK_UNSET is not set; blocked not sent",
    ]
    problems = asyncio.run(notify.send(hooks[:1], [event], env=env, transport=httpx.MockTransport(fail)))
    assert problems == ["notify: the webhook in $HOOK_A failed (ConnectError)"]
    assert "secret" not in json.dumps(problems)


def test_notify_in_the_project_file(tmp_path: Path) -> None:
    (tmp_path / "reconcile.yaml").write_text(
        yaml.safe_dump(
            {
                "target": {"emulator": {}},
                "notify": [
                    {"url_env": "SLACK_URL"},
                    {"url_env": "OPS", "format": "raw", "events": ["drift"]},
                ],
            }
        )
    )
    project = load_path(tmp_path, require_sets=False)
    assert project.notify == (Webhook("SLACK_URL", "slack", NOTIFY_EVENTS), Webhook("OPS", "raw", ("drift",)))
    (tmp_path / "reconcile.yaml").write_text(
        yaml.safe_dump({"target": {"emulator": {}}, "notify": [{"url_env": URL}]})
    )
    with pytest.raises(ValidationFailed) as e:
        load_path(tmp_path, require_sets=False)
    assert "reconcile.yaml:" in str(e.value.problems[0].location)


def test_watch_announces_a_paused_canary(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    receiver = Receiver()
    monkeypatch.setenv("HOOK", receiver.url("/paused"))
    rollout = {
        "strategy": "canary",
        "canary_count": 1,
        "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
    }
    root = write_project(tmp_path / "p", emu, rollout=rollout)
    project = yaml.safe_load((root / "reconcile.yaml").read_text())
    project["notify"] = [{"url_env": "HOOK", "format": "raw", "events": ["rollout_paused", "blocked"]}]
    (root / "reconcile.yaml").write_text(yaml.safe_dump(project))
    try:
        _, lines, _ = rounds(watch_round.Options(path=root, interval=60, mode="apply"), {}, last=2)
    finally:
        receiver.close()
    assert lines[0]["applied"]["rollouts"][0]["state"] == "paused"
    kinds = [b["body"]["event"] for b in receiver.bodies]
    assert kinds == ["blocked", "rollout_paused"]  # sent once each, though both last two rounds
    assert receiver.bodies[0]["body"]["devices"] == ["amr-spare-01"]


def test_a_url_written_in_the_project_file_is_refused_without_being_printed(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import main

    (tmp_path / "reconcile.yaml").write_text(
        f"target: {{emulator: {{}}}}\nnotify:\n  - url: {URL}\n  - url_env: {URL}\n"
    )
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "notify[0].url: unknown key" in result.output
    assert "url_env names an environment variable" in result.output
    assert "very-secret-token" not in result.output


def test_watch_announces_a_rollback_and_holds_the_failed_content_back(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    asyncio.run(emu.patch_device("lab-arm-02", agent={"behaviour": "fail"}))
    receiver = Receiver()
    monkeypatch.setenv("HOOK", receiver.url("/ops"))
    rollout = {
        "strategy": "rolling",
        "max_parallel": 1,
        "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
    }
    root = write_project(tmp_path / "p", emu, groups=("lab",), rollout=rollout)
    project = yaml.safe_load((root / "reconcile.yaml").read_text())
    project["notify"] = [{"url_env": "HOOK", "format": "raw", "events": ["rolled_back", "rollout_failed"]}]
    (root / "reconcile.yaml").write_text(yaml.safe_dump(project))
    try:
        _, lines, _ = rounds(watch_round.Options(path=root, interval=60, mode="apply"), {}, last=2)
    finally:
        receiver.close()
    assert lines[0]["applied"]["exit_code"] == 1
    events = [b["body"] for b in receiver.bodies]
    assert [e["event"] for e in events] == ["rolled_back"]
    assert events[0]["set"] == "all" and events[0]["devices"]
    # The next round does not roll the failed content out again: the plan holds it back.
    assert lines[1]["plan"]["deploy"] == 3 and lines[1]["applied"]["rollouts"] == []
