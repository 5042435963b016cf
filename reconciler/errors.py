"""The project's errors. Every user-facing error carries where it came from.

The CLI has one error boundary (`reconciler.cli`): `ReconcileError` -> message on
stderr, exit 1; anything else is a bug -> traceback, exit 3.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3

# Environment variables whose values must never reach output, logs, plans or errors.
SECRET_ENV_VARS = ("MIRU_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "RECONCILE_GITHUB_TOKEN", "ENROLLMENT_TOKEN")


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file (repo-relative when possible), 1-based line and column,
    and optionally a JSON path inside the document or content (e.g. `$.configs.motion-control`)."""

    file: str
    line: int | None = None
    column: int | None = None
    json_path: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Problem:
    """One validation problem. `validate` reports all of them, not the first."""

    message: str
    location: Location
    severity: str = "error"

    def format_text(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class ReconcileError(Exception):
    """A user-facing error: bad input, platform refusal, network trouble. Exit code 1."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def format_text(self) -> str:
        text = f"{self.location}: error: {self.message}" if self.location else f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return redact(text)


class ValidationFailed(ReconcileError):
    """Raised with every problem found; `validate` renders them, other commands print them."""

    def __init__(self, problems: list[Problem]):
        n = len(problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found")
        self.problems = problems

    def format_text(self) -> str:
        return redact("\n".join(p.format_text() for p in self.problems))


class PlatformError(ReconcileError):
    """The platform answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None,
                 code: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


def redact(text: str) -> str:
    """Replace every known secret value with `***` (values shorter than 4 chars are left:
    they would redact ordinary words)."""
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    # Authorization headers and X-API-Key values that might be echoed by a library.
    text = re.sub(r"(?i)(x-api-key|authorization)(['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}]+)", r"\1\2***", text)
    return text
