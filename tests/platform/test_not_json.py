"""A 200 whose body is not JSON (a proxy's or a login page's HTML where the API should be), or
JSON that is not a list page, is an error that names the read and the size, exit 1, never the
body and never a traceback (nor a plan of an empty fleet). The stand-in is a real server on
127.0.0.1 that answers every path the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from reconciler.cli import main
from reconciler.emulator.listener import in_thread
from tests.plan.projects import target_url, write_project

PAGE = "<html><body>Sign in to ACME proxy <script>steal()</script></body></html>"


async def login_page(request: Request) -> Response:
    return HTMLResponse(PAGE)


def test_a_page_that_is_not_json_exits_1_naming_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _plan_against(login_page, tmp_path, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "the platform answered with something that is not JSON" in result.stderr
    assert "bytes)" in result.stderr and "check the base URL" in result.stderr
    assert "Traceback" not in result.output and "steal()" not in result.output


@pytest.mark.parametrize("body", [[], {"data": "amr-01"}, "a string", 7])
def test_json_that_is_not_a_list_page_exits_1(
    body: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def answer(request: Request) -> Response:
        return JSONResponse(body)

    result = _plan_against(answer, tmp_path, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "the platform answered with JSON that is not a list page" in result.stderr
    assert "Traceback" not in result.output and "amr-01" not in result.output


def _plan_against(
    answer: Callable[[Request], Awaitable[Response]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Result:
    """`reconcile plan` of the example project against a server answering every path with `answer`."""
    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    root = write_project(tmp_path / "p", str(tmp_path / "unused.db"))
    monkeypatch.setenv("MIRU_API_KEY", "k-123")
    with in_thread(app) as url:
        target_url(root, url)
        return CliRunner().invoke(main, ["plan", str(root)])
