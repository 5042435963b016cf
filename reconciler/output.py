"""Consoles that respect NO_COLOR and non-TTY output."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _color_disabled() -> bool:
    return "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""


def stdout_console() -> Console:
    return Console(file=sys.stdout, no_color=_color_disabled(), highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(file=sys.stderr, no_color=_color_disabled(), highlight=False, soft_wrap=True)


def is_interactive() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
