"""The SDK owner: base URL checks, and the one retry policy's delays."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.platform.retry import READS, retry_after


@pytest.mark.parametrize("header, expected", [("0", 0.0), ("2", 2.0), ("120", 30.0)])
def test_retry_after_is_honoured_including_zero(header: str, expected: float) -> None:
    response = httpx.Response(429, headers={"Retry-After": header})
    assert READS.delay(3, retry_after(response)) == expected


def test_without_retry_after_the_delay_is_jittered_backoff() -> None:
    response = httpx.Response(503)
    delays = {READS.delay(2, retry_after(response)) for _ in range(20)}
    assert all(0.4 <= d <= 0.8 for d in delays)
    assert len(delays) > 1  # jitter: concurrent readers do not retry in lockstep


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com/beta", "example.com/beta"])
def test_a_bad_base_url_is_a_user_error(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reconcile.yaml").write_text("target:\n  emulator: {}\n")
    (tmp_path / "lab.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: lab}\nspec: {selector: {groups: [lab]}, release: v1.4.1}\n"
    )
    monkeypatch.setenv("MIRU_API_KEY", "sk-live-0123456789")
    result = CliRunner().invoke(main, ["plan", str(tmp_path), "--base-url", url])
    assert result.exit_code == 1, result.output
    assert "not a usable base URL" in result.output
    assert "Traceback" not in result.output
    assert "sk-live-0123456789" not in result.output


@pytest.mark.anyio
async def test_a_retry_stops_at_the_attempt_cap_and_at_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from reconciler.errors import PlatformError
    from reconciler.platform import retry

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(retry, "asyncio", SimpleNamespace(sleep=sleep))
    busy = PlatformError("busy", status=503, retry_after=10.0)
    budget = retry.Retry(retry.RetryPolicy(attempts=10, base=0.1, cap=1.0, budget=25.0))
    assert [await budget.wait(busy) for _ in range(3)] == [True, True, False]
    assert slept == [10.0, 10.0]  # a third wait would pass the 25 s budget: give up instead
    capped = retry.Retry(retry.RetryPolicy(attempts=3, base=0.1, cap=1.0, budget=60.0))
    down = PlatformError("down", status=503)  # no Retry-After: the attempt cap
    assert [await capped.wait(down) for _ in range(3)] == [True, True, False]  # 3 attempts in all
    assert len(slept) == 4 and all(0.05 <= s <= 0.2 for s in slept[2:])
    # A rate limit that says when (Retry-After, 0 included) is waited out until the budget, each
    # wait counted at least GUIDED_MIN, so even a storm of "retry at once" ends.
    storm = retry.Retry(retry.RetryPolicy(attempts=3, base=0.1, cap=1.0, budget=2.0))
    now = PlatformError("busy", status=429, retry_after=0.0)
    assert [await storm.wait(now) for _ in range(5)] == [True] * 4 + [False]
    assert slept[4:] == [0.0] * 4 and retry.GUIDED_MIN == 0.5
    refused = PlatformError("bad request", status=400)
    assert not await retry.Retry(retry.READS).wait(refused) and len(slept) == 8
