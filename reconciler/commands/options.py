"""Options several commands share: the part of the fleet a run covers (`--set`, `--device`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler.plan.selection import Selection

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(f: F) -> F:
    """`--set NAME` and `--device NAME` (repeatable, globs), gathered as `selection`."""
    f = click.option(
        "--device",
        "devices",
        multiple=True,
        metavar="NAME",
        help="Only this device (repeatable; a glob such as 'amr-east-*'). Reads only what it needs.",
    )(f)
    f = click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="NAME",
        help="Only this DeploymentSet (repeatable; a glob such as 'site-a-*'). Reads only its devices.",
    )(f)
    return f


def selection(sets: tuple[str, ...], devices: tuple[str, ...]) -> Selection:
    return Selection(sets=tuple(sets), devices=tuple(devices))
