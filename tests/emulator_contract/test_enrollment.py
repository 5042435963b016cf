"""Seed 001's enrollment API, checked against every example in the seed document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.harness import Harness

pytestmark = pytest.mark.anyio

CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
OTHER_CLIENT = "bb7cf840-9ca9-46a3-9778-9015d6580d51"
TOKEN = "seed-001-token"
NO_ACCESS_TOKEN = "token-without-clients"
OTHER_CLIENT_TOKEN = "token-for-a-client-with-no-data"
DEVICE = "amr-spare-01"
ERROR_ID = "c2d3e4f5-a6b7-8901-bcde-f12345678901"
SUCCESS_ID = "d1e2f3a4-b5c6-7890-abcd-ef1234567890"
TOKEN_ID = "e1f2a3b4-c5d6-7890-abcd-ef1234567890"

# Seed 001, "Example Response (Error Deployment)" and "(Successful Deployment)".
ERROR_RECORD = {
    "id": ERROR_ID,
    "status": "error",
    "enrollment_date": "2026-01-29T09:00:00.000Z",
    "enrollment_token_id": TOKEN_ID,
    "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
    "error_logs": [
        "2026-01-29T09:00:01Z: Starting deployment...",
        "2026-01-29T09:00:05Z: Downloading agent package...",
        "2026-01-29T09:00:15Z: Installation failed - insufficient permissions",
        "2026-01-29T09:00:15Z: Deployment aborted",
    ],
    "created_at": "2026-01-29T09:00:00.000Z",
    "updated_at": "2026-01-29T09:00:15.000Z",
}
SUCCESS_RECORD = {
    "id": SUCCESS_ID,
    "status": "success",
    "enrollment_date": "2026-01-30T14:30:00.000Z",
    "enrollment_token_id": TOKEN_ID,
    "user_id": None,
    "error_logs": None,
    "created_at": "2026-01-30T14:30:00.000Z",
    "updated_at": "2026-01-30T14:30:45.000Z",
}
MANY = 1234  # records of `amr-many-01`, for cursor paging


def _many() -> list[dict[str, Any]]:
    statuses = ("success", "error", "pending")
    return [
        {
            "device": "amr-many-01",
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "status": statuses[i % 3],
            "enrollment_date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z",
            "created_at": "2025-06-01T00:00:00.000Z",
            "updated_at": "2025-06-01T00:00:00.000Z",
            "error_logs": ["boom"] if i % 3 == 1 else None,
        }
        for i in range(MANY)
    ]


def seed_001() -> dict[str, Any]:
    return {
        "groups": [{"name": "fleet"}],
        "devices": [
            {"name": DEVICE, "group": "fleet", "status": "inactive"},
            {"name": "amr-east-01", "group": "fleet", "status": "inactive"},
            {"name": "amr-many-01", "group": "fleet", "status": "inactive"},
        ],
        "enrollment": {
            "client_id": CLIENT,
            "tokens": [
                TOKEN,
                {"token": NO_ACCESS_TOKEN, "clients": []},
                {"token": OTHER_CLIENT_TOKEN, "clients": [OTHER_CLIENT]},
            ],
        },
        "enrollments": [
            {"device": DEVICE, **{k: v for k, v in SUCCESS_RECORD.items() if k != "error_logs"}},
            {"device": DEVICE, **ERROR_RECORD},
            *_many(),
        ],
    }


@pytest.fixture
async def http(emu: Harness) -> AsyncIterator[httpx.AsyncClient]:
    await emu.seed(seed_001())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url="http://emulator.local",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def url(device: str = DEVICE, deployment: str | None = None, client: str = CLIENT) -> str:
    base = f"/v2/clients/{client}/devices/{device}/deployments"
    return f"{base}/{deployment}" if deployment else base


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body


async def test_list_matches_the_seed_example(http: httpx.AsyncClient) -> None:
    response = await http.get(url())
    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {"id": SUCCESS_ID, "status": "success", "enrollment_date": "2026-01-30T14:30:00.000Z"},
            {"id": ERROR_ID, "status": "error", "enrollment_date": "2026-01-29T09:00:00.000Z"},
        ],
        "total_count": 2,
        "next_cursor": None,
    }


async def test_filter_by_status(http: httpx.AsyncClient) -> None:
    errors = (await http.get(url(), params={"status": "error"})).json()
    assert [r["id"] for r in errors["data"]] == [ERROR_ID]
    assert errors["total_count"] == 1
    pending = (await http.get(url(), params={"status": "pending"})).json()
    assert pending == {"data": [], "total_count": 0, "next_cursor": None}
    assert_envelope(await http.get(url(), params={"status": "exploded"}), 400, "invalid_parameter")


async def test_sort_order_and_fields(http: httpx.AsyncClient) -> None:
    asc = (await http.get(url(), params={"sort_order": "asc"})).json()
    assert [r["id"] for r in asc["data"]] == [ERROR_ID, SUCCESS_ID]
    by_status = (await http.get(url(), params={"sort_by": "status", "sort_order": "asc"})).json()
    assert [r["status"] for r in by_status["data"]] == ["error", "success"]
    by_created = (await http.get(url(), params={"sort_by": "created_at"})).json()
    assert [r["id"] for r in by_created["data"]] == [SUCCESS_ID, ERROR_ID]
    assert_envelope(await http.get(url(), params={"sort_order": "sideways"}), 400, "invalid_parameter")


async def test_get_error_deployment_has_its_error_logs(http: httpx.AsyncClient) -> None:
    response = await http.get(url(deployment=ERROR_ID))
    assert response.status_code == 200
    assert response.json() == ERROR_RECORD


async def test_get_successful_deployment_has_null_error_logs(http: httpx.AsyncClient) -> None:
    response = await http.get(url(deployment=SUCCESS_ID))
    assert response.status_code == 200
    assert response.json() == SUCCESS_RECORD


async def test_unknown_sort_by_is_400(http: httpx.AsyncClient) -> None:
    body = assert_envelope(await http.get(url(), params={"sort_by": "color"}), 400, "invalid_parameter")
    assert body["error"]["details"] == {"parameter": "sort_by", "value": "color"}


async def test_401_without_or_with_a_bad_token(http: httpx.AsyncClient) -> None:
    missing = await http.get(url(), headers={"Authorization": ""})
    assert_envelope(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_envelope(await http.get(url(), headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert_envelope(await http.get(url(), headers={"Authorization": f"Basic {TOKEN}"}), 401, "unauthorized")
    # The platform's API key is not an enrollment credential.
    assert_envelope(
        await http.get(url(), headers={"Authorization": "", "X-API-Key": "emulator-local-rw"}),
        401,
        "unauthorized",
    )


async def test_403_for_a_token_without_access_to_the_client(http: httpx.AsyncClient) -> None:
    no_access = await http.get(url(), headers={"Authorization": f"Bearer {NO_ACCESS_TOKEN}"})
    body = assert_envelope(no_access, 403, "forbidden")
    assert body["error"]["details"] == {"client_id": CLIENT}
    assert_envelope(await http.get(url(client=OTHER_CLIENT)), 403, "forbidden")
    # 403 comes before 404: a token cannot probe devices of a client it cannot read.
    no_access_header = {"Authorization": f"Bearer {NO_ACCESS_TOKEN}"}
    assert_envelope(await http.get(url(device="nope"), headers=no_access_header), 403, "forbidden")


async def test_404_with_the_seed_envelope(http: httpx.AsyncClient) -> None:
    # The seed's example 404 is exactly this body: a deployment id the device does not have.
    response = await http.get(url(device="amr-east-01", deployment=ERROR_ID))
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "Deployment not found",
            "details": {"deployment_id": ERROR_ID},
        }
    }
    assert_envelope(await http.get(url(deployment="no-such-id")), 404, "not_found")
    device = assert_envelope(await http.get(url(device="no-such-device")), 404, "not_found")
    assert device["error"]["details"] == {"device_id": "no-such-device"}
    other_header = {"Authorization": f"Bearer {OTHER_CLIENT_TOKEN}"}
    client = await http.get(url(client=OTHER_CLIENT), headers=other_header)
    assert assert_envelope(client, 404, "not_found")["error"]["details"] == {"client_id": OTHER_CLIENT}


async def test_device_with_no_history_lists_empty(http: httpx.AsyncClient) -> None:
    assert (await http.get(url(device="amr-east-01"))).json() == {
        "data": [],
        "total_count": 0,
        "next_cursor": None,
    }


async def _all_pages(http: httpx.AsyncClient, **params: Any) -> tuple[list[dict[str, Any]], int, int]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    total = -1
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await http.get(url(device="amr-many-01"), params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        total = body["total_count"]
        seen.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, total, pages
        assert pages < 100, "paging does not terminate"


@pytest.mark.parametrize(
    ("params", "expected_pages"),
    [
        ({}, 25),  # default page size 50
        ({"page_size": "100"}, 13),
        ({"page_size": "9999"}, 3),  # clamped to 500
        ({"page_size": "7", "status": "error", "sort_by": "status", "sort_order": "asc"}, 59),
        ({"page_size": "333", "sort_by": "created_at", "sort_order": "asc"}, 4),
    ],
)
async def test_cursor_paging_returns_each_record_once(
    http: httpx.AsyncClient, params: dict[str, str], expected_pages: int
) -> None:
    seen, total, pages = await _all_pages(http, **params)
    ids = [r["id"] for r in seen]
    wanted_status = params.get("status")
    expected = MANY if wanted_status is None else sum(1 for i in range(MANY) if i % 3 == 1)
    assert total == expected
    assert len(ids) == len(set(ids)) == expected
    assert pages == expected_pages
    if wanted_status:
        assert {r["status"] for r in seen} == {wanted_status}
    if params.get("sort_by", "enrollment_date") == "enrollment_date":
        dates = [r["enrollment_date"] for r in seen]
        assert dates == sorted(dates, reverse=params.get("sort_order", "desc") == "desc")


async def test_cursor_is_bound_to_its_query(http: httpx.AsyncClient) -> None:
    first = (await http.get(url(device="amr-many-01"), params={"page_size": "10"})).json()
    cursor = first["next_cursor"]
    assert isinstance(cursor, str) and cursor
    again = (await http.get(url(device="amr-many-01"), params={"page_size": "10", "cursor": cursor})).json()
    assert not {r["id"] for r in again["data"]} & {r["id"] for r in first["data"]}
    other = await http.get(url(device="amr-many-01"), params={"status": "error", "cursor": cursor})
    assert_envelope(other, 400, "invalid_cursor")
    assert_envelope(
        await http.get(url(device="amr-many-01"), params={"cursor": "!!garbage"}), 400, "invalid_cursor"
    )


# Seed 001's example requests, verbatim (host dropped): its device id, its client id.
EXAMPLE_DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
EXAMPLE_LIST = f"/v2/clients/{CLIENT}/devices/{EXAMPLE_DEVICE}/deployments"


@pytest.fixture
async def verbatim(emu: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """The example device under the id seed 001's URLs carry, holding the two example records."""
    await emu.seed(
        {
            "devices": [{"id": EXAMPLE_DEVICE, "name": "amr-example-01", "status": "inactive"}],
            "enrollment": {"client_id": CLIENT, "tokens": ["YOUR_API_TOKEN"]},
            "enrollments": [
                {
                    "device": "amr-example-01",
                    **{k: v for k, v in SUCCESS_RECORD.items() if k != "error_logs"},
                },
                {"device": "amr-example-01", **ERROR_RECORD},
            ],
        }
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url="http://emulator.local",
        headers={"Authorization": "Bearer YOUR_API_TOKEN"},
    ) as client:
        yield client


async def test_seed_001_example_requests_verbatim(verbatim: httpx.AsyncClient) -> None:
    listed = await verbatim.get(EXAMPLE_LIST)
    assert listed.status_code == 200
    assert listed.json() == {  # "Example Response" of List Deployments
        "data": [
            {"id": SUCCESS_ID, "status": "success", "enrollment_date": "2026-01-30T14:30:00.000Z"},
            {"id": ERROR_ID, "status": "error", "enrollment_date": "2026-01-29T09:00:00.000Z"},
        ],
        "total_count": 2,
        "next_cursor": None,
    }
    errors = await verbatim.get(f"{EXAMPLE_LIST}?status=error")  # "Filter by Status"
    assert [r["id"] for r in errors.json()["data"]] == [ERROR_ID]
    error = await verbatim.get(f"{EXAMPLE_LIST}/{ERROR_ID}")  # "Example Response (Error Deployment)"
    assert (error.status_code, error.json()) == (200, ERROR_RECORD)
    success = await verbatim.get(f"{EXAMPLE_LIST}/{SUCCESS_ID}")  # "(Successful Deployment)"
    assert (success.status_code, success.json()) == (200, SUCCESS_RECORD)


async def test_seed_001_error_table_verbatim(verbatim: httpx.AsyncClient) -> None:
    """The seed's error table: 400 unknown sort_by, 401, 403 (another client), 404 device,
    client or deployment, each in the seed's envelope."""
    assert_envelope(await verbatim.get(EXAMPLE_LIST, params={"sort_by": "color"}), 400, "invalid_parameter")
    assert_envelope(await verbatim.get(EXAMPLE_LIST, headers={"Authorization": ""}), 401, "unauthorized")
    assert_envelope(await verbatim.get(EXAMPLE_LIST.replace(CLIENT, OTHER_CLIENT)), 403, "forbidden")
    unknown = "a0a0a0a0-b5c6-7890-abcd-ef1234567890"
    assert (await verbatim.get(f"{EXAMPLE_LIST}/{unknown}")).json() == {
        "error": {
            "code": "not_found",
            "message": "Deployment not found",
            "details": {"deployment_id": unknown},
        }
    }
    other_device = EXAMPLE_LIST.replace(EXAMPLE_DEVICE, "00000000-0000-0000-0000-000000000000")
    assert_envelope(await verbatim.get(other_device), 404, "not_found")
