"""`reconcile emulator serve` as a real process on 127.0.0.1: the SDK reaches it with the
`--api-key` key, each request is logged (method, path, status) and the key never is."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import miru_platform_sdk as sdk
import pytest
import yaml

from reconciler.emulator.listener import is_loopback
from reconciler.emulator.serve import AccessLog

pytestmark = pytest.mark.anyio

SECRET = "serve-test-secret-key-0042"
SEED = {
    "groups": [{"name": "fleet"}],
    "devices": [{"name": f"amr-{i:02d}", "group": "fleet", "status": "online"} for i in range(12)],
}


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    extra: list[str] = list(getattr(request, "param", []))
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(SEED))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from reconciler.cli import main; main()",
            "emulator",
            "serve",
            "--db",
            str(tmp_path / "served.db"),
            "--seed",
            str(seed),
            "--port",
            "0",
            "--api-key",
            SECRET,
            *extra,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    seen = ""
    while "listening on" not in seen:  # readline blocks until the socket listens or the process dies
        line = proc.stderr.readline()
        if not line:
            proc.kill()
            pytest.fail(f"the server did not start: {seen}")
        seen = line if "listening on" in line else seen + line
    url = seen.split("listening on ", 1)[1].split()[0]
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


async def test_serve_answers_the_sdk_and_logs_without_the_key(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = server
    assert url.startswith("http://127.0.0.1:")
    client = sdk.AsyncMiru(
        api_key=SECRET, miru_version="2026-08-17.everglades", base_url=f"{url}/beta", max_retries=0
    )
    async with client:
        page = await client.devices.list(limit=5, expand=["total_count"])
        assert page.total_count == 12 and len(page.data) == 5 and page.has_more
        group = await client.groups.create(name="from-the-sdk")  # the extra key is read-write
        assert group.name == "from-the-sdk"
    async with httpx.AsyncClient(base_url=url) as http:
        unauthorized = await http.get("/beta/devices", headers={"Miru-Version": "2026-08-17.everglades"})
        assert unauthorized.status_code == 401
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert "GET /beta/devices 200" in err
    assert "POST /beta/groups 200" in err
    assert "GET /beta/devices 401" in err
    assert SECRET not in err
    # uvicorn shuts down gracefully, then re-raises the signal it caught (conventional exit).
    assert proc.returncode in (0, -signal.SIGTERM)


@pytest.mark.parametrize("server", [["--no-access-log"]], indirect=True)
async def test_no_access_log_answers_and_writes_no_request_lines(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = server
    async with httpx.AsyncClient(base_url=url) as http:
        answered = await http.get(
            "/beta/devices", headers={"Miru-Version": "2026-08-17.everglades", "X-API-Key": SECRET}
        )
    assert answered.status_code == 200 and answered.json()["data"]  # the default page of 10
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert "/beta/devices" not in err


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


async def _access_log(url: str, status: int) -> list[str]:
    """The lines `AccessLog` writes for one GET of `url` (with a key) answered with `status`."""
    lines: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        from starlette.responses import PlainTextResponse

        await PlainTextResponse("hi", status_code=status)(scope, receive, send)  # type: ignore[arg-type]

    logged = AccessLog(app, lines.append)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=logged), base_url="http://x") as http:
        await http.get(url, headers={"X-API-Key": SECRET})
    return lines


async def test_access_log_lines() -> None:
    lines = await _access_log("/beta/devices?token=abc", 418)
    assert len(lines) == 1
    assert lines[0].startswith("GET /beta/devices 418 ")
    assert SECRET not in lines[0] and "abc" not in lines[0]


async def test_access_log_shows_an_escape_sequence_in_a_path_as_text() -> None:
    """uvicorn percent-decodes the path: `%1b[2J` would clear the terminal of whoever tails the log."""
    lines = await _access_log("/beta/devices/%1b[2J%e2%80%aeevil", 404)
    assert len(lines) == 1
    assert r"GET /beta/devices/\x1b[2J\u202eevil 404 " in lines[0]
    assert "\x1b" not in lines[0] and "\u202e" not in lines[0]
