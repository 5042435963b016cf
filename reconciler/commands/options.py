"""Options several commands share: the part of the fleet a run covers (`--set`, `--device`),
and how many requests it keeps in flight (`--parallelism`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler.plan.selection import Selection
from reconciler.platform.client import DEFAULT_CONCURRENCY, MAX_CONCURRENCY

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


def parallelism_option(f: F) -> F:
    """`--parallelism N`: requests in flight, reads and writes together."""
    return click.option(
        "--parallelism",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        metavar="N",
        help="Requests in flight, reads and writes together. At 50 ms a round trip the default "
        "carries about 640 requests a second; a 429 from the platform pauses them all for its Retry-After.",
    )(f)
