"""One escaping rule per output medium, for text we do not control (names, versions, logs,
config values from the platform, the manifests or a config file).

- `terminal`: plain text for a terminal or a log. Control and format characters (C0, DEL,
  C1, bidi overrides and isolates, zero-width characters, line separators) are shown as
  Python-style escapes (`\\x1b`, `\\u202e`), so ANSI/OSC sequences, BEL, backspace and
  right-to-left overrides are visible and inert. The result carries no markup: print it
  with rich's `markup=False` (or click), where `[bold]` stays text.
- `md_text` / `md_code`: markdown for GitHub (PR comment, job summary), valid both in
  markdown paragraphs and inside HTML blocks such as `<summary>`.
- `workflow_data` / `workflow_property`: GitHub workflow commands (`::error ...::msg`).
- `json_text`: JSON that round-trips exactly and still shows nothing raw on a terminal.

Long text is cut with a marker saying how much was left out (`cut`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

NAME_LIMIT = 200  # a device, set or version name as shown
LINE_LIMIT = 2000  # a reason, log line or diff line as shown

# Cc: C0, DEL, C1. Cf: bidi overrides/isolates/marks, zero-width joiners and spaces, BOM,
# soft hyphen, tag characters. Zl/Zp: U+2028/U+2029. Cs: lone surrogates (from bad bytes).
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def is_hidden(ch: str) -> bool:
    """A character a terminal or browser may act on, or show as nothing."""
    return unicodedata.category(ch) in _HIDDEN


def _visible(ch: str) -> str:
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def cut(text: str, limit: int | None) -> str:
    """`text` cut to `limit` characters with a marker of what was left out."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit} chars)"


def clean(text: str, keep: str = "") -> bool:
    """No hidden character in `text` but those of `keep`. Printable text has none (Python's
    non-printable categories include every hidden one): that test runs in C, where looking up
    each character's category took a third of rendering a 100,000-device plan."""
    probe = text
    for ch in keep:
        probe = probe.replace(ch, "")
    return probe.isprintable() or not any(is_hidden(ch) for ch in probe)


def _show_hidden(text: str, line_breaks: str | None = None) -> str:
    if line_breaks is not None:
        text = text.replace("\r\n", line_breaks).replace("\r", line_breaks).replace("\n", line_breaks)
    if clean(text):
        return text
    return "".join(_visible(ch) if is_hidden(ch) else ch for ch in text)


def terminal(text: Any, limit: int | None = NAME_LIMIT) -> str:
    """One value for a terminal line: every hidden character (CR and LF too) shown as an
    escape, cut to `limit`."""
    return _show_hidden(cut(str(text), limit))


def terminal_lines(text: str, limit: int | None = LINE_LIMIT) -> str:
    """Multi-line text we compose around hostile values (a rendered plan): line breaks kept,
    every other hidden character shown as an escape. A safety net, not a substitute for
    `terminal` on each value (that one also shows a LF inside a name)."""
    return "\n".join(_show_hidden(cut(line, limit)) for line in text.split("\n"))


# Markdown: HTML specials and markdown punctuation become numeric character references,
# which GitHub decodes to text in paragraphs and in HTML blocks alike and never treats as
# markup. `@` mentions, e-mail and URL autolinks get a zero-width space that breaks them.
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{ch: f"&#{ord(ch)};" for ch in "\\`*_[]#|~"}}
_MD_TABLE = str.maketrans(_MD_ENTITIES)
_ZWSP = "&#8203;"
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def md_text(text: Any, limit: int | None = NAME_LIMIT) -> str:
    """Text for a markdown paragraph, list item, table cell or `<summary>`: no HTML, link,
    mention, heading, emphasis or line break can come of it."""
    shown = _show_hidden(cut(str(text), limit), line_breaks=" ")
    shown = shown.translate(_MD_TABLE)
    shown = shown.replace("@", "@" + _ZWSP)
    return _AUTOLINK.sub(lambda m: m.group(1)[0] + _ZWSP + m.group(1)[1:], shown)


def md_code(text: Any, limit: int | None = LINE_LIMIT) -> str:
    """An inline code span around `text`, its fence longer than any backtick run inside, on
    one line. Inside code nothing is HTML, link or mention; hidden characters are shown."""
    shown = _show_hidden(cut(str(text), limit), line_breaks=" ")
    runs = [len(r) for r in re.findall(r"`+", shown)]
    fence = "`" * (max(runs, default=0) + 1)
    if shown[:1] in ("`", " ") or shown[-1:] in ("`", " "):
        # CommonMark strips one space on each side: padded, the value shows as written.
        return f"{fence} {shown} {fence}"
    return f"{fence}{shown}{fence}"


def md_block(text: str) -> str:
    """A fenced code block (```text) around multi-line output: its fence longer than any
    backtick run inside, hidden characters other than line breaks shown."""
    shown = terminal_lines(text.replace("\r\n", "\n"), limit=None)
    runs = [len(r) for r in re.findall(r"`+", shown)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}text\n{shown}\n{fence}\n"


# GitHub workflow commands (the toolkit's escapeData / escapeProperty).
def workflow_data(text: Any) -> str:
    """The message part of `::command ...::message`. Line breaks stay (as %0A); other hidden
    characters are shown, since the log viewer interprets ANSI sequences."""
    shown = str(text)
    if not clean(shown, "\r\n"):
        shown = "".join(_visible(ch) if is_hidden(ch) and ch not in "\r\n" else ch for ch in shown)
    return shown.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: Any) -> str:
    """A property value (`file=`, `title=`) of a workflow command."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def _json_escape(ch: str) -> str:
    n = ord(ch)
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def json_text(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """JSON that loads back to exactly `value`, readable (non-ASCII kept), with every hidden
    character written as a `\\u` escape (json.dumps leaves DEL, C1 and bidi characters raw)."""
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    if clean(text, "\n"):
        return text
    # Outside strings JSON is ASCII with only space and LF as whitespace: every hidden
    # character is inside a string, where `\uXXXX` means the same character.
    return "".join(_json_escape(ch) if is_hidden(ch) and ch != "\n" else ch for ch in text)
