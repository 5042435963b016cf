"""The escaping rules, one per medium (reconciler.escape), on the hostile strings of issue 12."""

from __future__ import annotations

import json
import re

import pytest

from reconciler import escape

HOSTILE = [
    "</details><img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "@octocat",
    "amr\r\n### heading",
    "\x1b[2Jcleared",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "bell\x07",
    "back\x08\x08space",
    "\u202eevil",
    "nul\x00",
    "c1\x85\x9b31m",
    "zw\u200d\u200b\u2060j",
    "[bold]x[/bold]",
    "[link=https://x]y[/link]",
    "iso\u2066late\u2069",
    "del\x7f",
    "sep\u2028\u2029",
]


def raw_controls(text: str) -> list[str]:
    return [ch for ch in text if escape.is_hidden(ch)]


@pytest.mark.parametrize("value", HOSTILE)
def test_terminal_shows_every_hidden_character_as_an_escape(value: str) -> None:
    shown = escape.terminal(value)
    assert raw_controls(shown) == []
    assert "\n" not in shown and "\r" not in shown
    # Visible characters survive as they are: a reader sees what the name is.
    assert [c for c in value if not escape.is_hidden(c)] == [
        c for c in re.sub(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4})", "", shown)
    ]


def test_terminal_cuts_long_names_with_a_marker() -> None:
    shown = escape.terminal("n" * 10_000)
    assert len(shown) < 300 and shown.endswith("…(+9800 chars)")
    assert escape.terminal("n" * 10, limit=None) == "n" * 10


def test_terminal_lines_keeps_line_breaks_only() -> None:
    assert escape.terminal_lines("a\x1b[2J\nb\u202e") == "a\\x1b[2J\nb\\u202e"


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_has_no_html_link_mention_heading_or_line_break(value: str) -> None:
    shown = escape.md_text(value)
    assert raw_controls(shown) == []
    assert not re.search(r"[<>\[\]`*_|\n\r]", shown)
    assert not re.search(r"@\w", shown)
    assert "://" not in shown
    assert not shown.lstrip().startswith("#")


def test_markdown_code_span_fence_is_longer_than_any_backtick_run() -> None:
    for value in ["a ``b`` c", "`", "x```y", "``edge``"]:
        span = escape.md_code(value)
        run = max(len(r) for r in re.findall(r"`+", value))
        fence = re.match(r"`+", span)
        assert fence is not None and len(fence.group()) == run + 1
        assert span.endswith(fence.group()) and len(span) > 2 * len(fence.group())
    assert "\n" not in escape.md_code("a\r\n### h")


def test_workflow_commands_escape_as_github_documents() -> None:
    assert escape.workflow_data("50% bad\r\nnext") == "50%25 bad%0D%0Anext"
    assert escape.workflow_data("a\rb") == "a%0Db"
    assert escape.workflow_property("a,b:c%") == "a%2Cb%3Ac%25"
    assert escape.workflow_data("\x1b[31mred") == "\\x1b[31mred"


@pytest.mark.parametrize("value", [*HOSTILE, "n" * 10_000, "emoji \U0001f916 tag \U000e0041"])
def test_json_round_trips_exactly_and_shows_nothing_raw(value: str) -> None:
    data = {"name": value, "list": [value, 1.5, None]}
    text = escape.json_text(data)
    assert json.loads(text) == data
    assert [c for c in text if escape.is_hidden(c) and c != "\n"] == []
