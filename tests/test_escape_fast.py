"""`escape.clean`, the quick test that text has no hidden character, agrees with the
character-by-character rule for every code point, alone and inside printable text."""

from __future__ import annotations

import sys

from reconciler import escape


def _slow(text: str, keep: str = "") -> bool:
    return not any(escape.is_hidden(ch) and ch not in keep for ch in text)


# The BMP, the first supplementary plane (symbols, emoji), the tag characters (format
# characters, hidden) and the edges of the private use planes: every category there is.
PLANES = [
    range(0x20000),
    range(0xE0000, 0xE1000),
    range(0xF0000, 0xF0100),
    range(0x10FF00, sys.maxunicode + 1),
]


def test_every_code_point_alone_and_in_a_name() -> None:
    for plane in PLANES:
        for n in plane:
            ch = chr(n)
            assert escape.clean(ch) == _slow(ch), hex(n)
            assert escape.clean(f"robot-{ch}-07") == _slow(ch), hex(n)


def test_kept_characters_and_the_outputs_that_use_it() -> None:
    assert escape.clean("a\nb", "\n") and not escape.clean("a\nb")
    assert not escape.clean("a\n\x1bb", "\n")
    assert escape.terminal("east-07\u202e") == "east-07\\u202e"
    assert escape.workflow_data("x\x1b[31m\ny") == "x\\x1b[31m%0Ay"
    assert escape.json_text({"n": "a\u2028"}, indent=None) == '{"n": "a\\u2028"}'
    assert escape.json_text({"n": "caf\u00e9 \u00a0"}, indent=None) == '{"n": "caf\u00e9 \u00a0"}'
