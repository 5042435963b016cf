"""The commands' runner: results come back whole and are never turned into text on the way."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from reconciler.asyncrun import run


class Loud:
    """A result that counts its reprs (a plan's repr is every change in it)."""

    reprs = 0

    def __repr__(self) -> str:
        Loud.reprs += 1
        return "Loud()"


async def _result() -> Loud:
    await asyncio.sleep(0)
    return Loud()


def test_the_result_comes_back_and_is_never_repred() -> None:
    Loud.reprs = 0
    result = run(_result())
    assert isinstance(result, Loud)
    assert Loud.reprs == 0


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="asyncio.run reprs its result on 3.11 only")
def test_asyncio_run_itself_reprs_the_result_on_3_11() -> None:
    """Why the runner exists: the cost it avoids is real on the Python we ship for."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("asyncio.run installs its SIGINT handler only over the default one")
    Loud.reprs = 0
    asyncio.run(_result())
    assert Loud.reprs > 0


def test_an_error_is_raised_as_it_was() -> None:
    async def fails() -> None:
        raise LookupError("no such set")

    with pytest.raises(LookupError, match="no such set"):
        run(fails())
