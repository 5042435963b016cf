"""Every test here runs the commands as a person would at a plain terminal: no colour, the
emulator's enrollment token set (the example project reads it), and no platform URL or key
left over from the environment the tests were started in. A test that needs otherwise sets it."""

from __future__ import annotations

import pytest

from tests.plan.projects import ENROLLMENT_TOKEN


@pytest.fixture(autouse=True)
def _cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("ENROLLMENT_TOKEN", ENROLLMENT_TOKEN)
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    monkeypatch.delenv("MIRU_API_KEY", raising=False)
