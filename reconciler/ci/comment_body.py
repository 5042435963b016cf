"""A pull-request comment's body: the hidden marker that finds it again (one comment per project
path), then the content, cut to GitHub's 65,536-character limit without breaking code fences
or <details> blocks."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote

# GitHub's limit on an issue comment body. GitHub counts characters; counting UTF-16 code
# units (what a JavaScript string length is) is never smaller, so it is the safe measure.
COMMENT_LIMIT = 65_536


def marker_for(path: str) -> str:
    """The hidden marker for a project path. Percent-encoding keeps `-->` (and any other
    odd character in a path) from ending the HTML comment early."""
    normalized = posixpath.normpath(path.strip().replace("\\", "/")).strip("/") or "."
    return f"<!-- reconcile:plan path={quote(normalized, safe='/._~+@')} -->"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_comment(
    marker: str,
    content: str,
    footer: str = "",
    limit: int = COMMENT_LIMIT,
    *,
    full: str = "the job summary and the workflow artifact",
) -> str:
    """`marker` + `content` + `footer`, with `content` cut at a line boundary when the whole
    would exceed `limit`, and a note saying how much was left out and where `full` content is.
    Open code fences and <details> blocks are closed after the cut."""
    body = _join(marker, content, footer)
    if utf16_len(body) <= limit:
        return body
    total = len(content.rstrip("\n").splitlines())

    def note(kept: str) -> str:
        left = total - len(kept.splitlines())
        return (
            f"\n\n> **Truncated** to fit one GitHub comment: the last {left} of {total} lines "
            f"are not shown. All of it is in {full}.\n"
        )

    # Room for closing what the cut leaves open (a fence and a few </details>) and the note.
    reserve = utf16_len(marker) + utf16_len(footer) + utf16_len(note("")) + 200
    budget = max(0, limit - reserve)
    cut = _cut_utf16(content, budget)
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    body = _join(marker, cut + _closers(cut) + note(cut), footer)
    while utf16_len(body) > limit:  # only with absurdly many open <details>; drop lines until it fits
        cut = cut[: max(0, cut.rfind("\n"))]
        body = _join(marker, cut + _closers(cut) + note(cut), footer)
    return body


def _join(marker: str, content: str, footer: str) -> str:
    parts = [marker, content.rstrip("\n")]
    if footer:
        parts.append(footer)
    return "\n".join(parts) + "\n"


def _cut_utf16(text: str, units: int) -> str:
    encoded = text.encode("utf-16-le")[: units * 2]
    return encoded.decode("utf-16-le", errors="ignore")


def _closers(text: str) -> str:
    closers = ""
    fences = [m.group(1) for m in re.finditer(r"(?m)^\s*(```+|~~~+)", text)]
    if len(fences) % 2 == 1:
        closers += "\n" + fences[-1]
    open_details = len(re.findall(r"(?i)<details\b", text)) - len(re.findall(r"(?i)</details>", text))
    closers += "\n</details>" * max(0, open_details)
    return closers
