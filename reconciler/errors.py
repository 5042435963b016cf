"""The project's errors. Every user-facing error carries where it came from.

The CLI has one error boundary (`reconciler.cli`): `ReconcileError` -> message on
stderr, exit 1; anything else is a bug -> traceback, exit 3.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

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
        return self.shown()

    def shown(self, root: Path | str | None = None) -> str:
        """`file:line:col`; with the project `root`, the file as the user can open it from the
        current directory (see `display_path`)."""
        parts = [self.file if root is None else display_path(root, self.file)]
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

    def format_text(self, root: Path | str | None = None) -> str:
        return f"{self.location.shown(root)}: {self.severity}: {self.message}"


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
        return _shown(text)


class ValidationFailed(ReconcileError):
    """Raised with every problem found; `validate` renders them, other commands print them.
    `root` is the project directory the problems' files are relative to: with it, every
    command prints the same paths as `validate` (relative to the current directory)."""

    def __init__(self, problems: list[Problem], root: Path | str | None = None):
        n = len(problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found")
        self.problems = problems
        self.root = root

    def format_text(self) -> str:
        return _shown("\n".join(p.format_text(self.root) for p in self.problems))


class PermissionDenied(ReconcileError):
    """The API key may not make a write (401/403): the whole apply stops at once, nothing is
    counted as a failed device and nothing is rolled back."""

    def __init__(self, operation: str, scopes: str, status: int, detail: str):
        super().__init__(
            f"the API key may not {operation} (HTTP {status}: {detail}); it needs the scope {scopes}",
            hint="use a key with the scopes `reconcile apply` needs (docs/ci.md lists them); nothing else was written",
        )
        self.operation, self.scopes, self.status = operation, scopes, status


class PlatformError(ReconcileError):
    """The platform answered with an error or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.retry_after = retry_after  # seconds the platform asked us to wait (Retry-After)


def display_path(root: Path | str, file: str, cwd: Path | None = None) -> str:
    """A problem's project-relative file as the user can open it: relative to the current
    directory when inside it (so terminals, editors and GitHub resolve it), else absolute."""
    # abspath, not resolve: show the path as the user reaches it, symlinks and all.
    here = os.path.abspath(cwd or Path.cwd())
    full = os.path.abspath(os.path.join(root, file) if file else root)
    if full == here:
        return "."
    if full.startswith(here.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(full, here)).as_posix()
    return full


def _shown(text: str) -> str:
    # Errors quote names and values from the platform and the manifests; they go to a terminal.
    from reconciler.escape import terminal_lines

    return terminal_lines(redact(text))


# Values of secret config fields seen in this run (reconciler.sensitive registers them), so
# that an error or log line that quotes content (a platform error echoing what it was sent)
# still shows none. Shorter values are left: they would redact ordinary words.
_CONTENT_SECRETS: set[str] = set()
CONTENT_SECRET_MIN = 8


def remember_secret(value: object) -> None:
    if isinstance(value, str) and len(value) >= CONTENT_SECRET_MIN:
        _CONTENT_SECRETS.add(value)


def redact(text: str) -> str:
    """Replace every known secret value with `***` (values shorter than 4 chars are left:
    they would redact ordinary words)."""
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    for value in sorted(_CONTENT_SECRETS, key=len, reverse=True):
        text = text.replace(value, "***")
    # Authorization headers and X-API-Key values that might be echoed by a library: the value
    # goes, the scheme name (`Bearer`) stays, so the reader still sees what kind of credential;
    # a placeholder (`<token>`) in a hint is not a value.
    text = re.sub(
        r"(?i)(x-api-key|authorization)(['\"]?\s*[:=]\s*['\"]?)((?:bearer|basic|token|digest)\s+)?(?!<|(?:bearer|basic|token|digest)\s)([^'\"\s,}]+)",
        r"\1\2\3***",
        text,
    )
    return text
