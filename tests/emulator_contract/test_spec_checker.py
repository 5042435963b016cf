"""The spec checker itself: it must reject what the contract tests rely on it rejecting."""

from __future__ import annotations

import json
from typing import Any

from tests.emulator_contract.spec import Spec, openapi30_to_jsonschema

DEVICE: dict[str, Any] = {
    "object": "device",
    "id": "dvc_1",
    "name": "amr-01",
    "description": "",
    "status": "online",
    "agent_version": None,
    "last_connected_at": None,
    "last_disconnected_at": None,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "group_id": None,
}


def check(spec: Spec, method: str, path: str, status: int, body: Any) -> list[str]:
    op = spec.match(method, path)
    assert op is not None
    return spec.problems(op, status, json.dumps(body).encode())


def test_every_operation_is_matched_by_path(spec: Spec) -> None:
    assert spec.base_path == "/beta"
    assert spec.match("GET", "/beta/devices/dvc_1").operation_id == "getDevice"  # type: ignore[union-attr]
    deploy = spec.match("POST", "/beta/deployments/dpl_1/deploy")
    assert deploy is not None and deploy.operation_id == "deployDeployment"
    assert spec.match("DELETE", "/beta/devices/dvc_1") is None
    assert len({op.operation_id for op in spec.operations}) == len(spec.operations) >= 30


def test_a_valid_device_passes_with_nulls(spec: Spec) -> None:
    assert check(spec, "GET", "/beta/devices/dvc_1", 200, DEVICE) == []


def test_missing_wrong_and_extra_fields_are_problems(spec: Spec) -> None:
    missing = {k: v for k, v in DEVICE.items() if k != "status"}
    problems = check(spec, "GET", "/beta/devices/x", 200, missing)
    assert any("'status' is a required property" in p for p in problems)
    wrong = {**DEVICE, "status": "dancing"}
    assert check(spec, "GET", "/beta/devices/x", 200, wrong)
    extra = {**DEVICE, "live_deployment_id": "dpl_1"}
    assert check(spec, "GET", "/beta/devices/x", 200, extra) == [
        "GET /devices/{device_id} -> 200: /live_deployment_id: field not in the spec"
    ]
    listed = {"object": "list", "limit": 10, "offset": 0, "has_more": False, "data": [extra]}
    assert check(spec, "GET", "/beta/devices", 200, listed) == [
        "GET /devices -> 200: /data/0/live_deployment_id: field not in the spec"
    ]


def test_error_bodies_are_checked_against_the_envelope(spec: Spec) -> None:
    good = {"error": {"code": "not_found", "message": "device 'x' not found", "params": {}}}
    assert check(spec, "GET", "/beta/devices/x", 404, good) == []
    assert check(spec, "GET", "/beta/devices/x", 404, {"detail": "Not Found"})
    assert check(spec, "GET", "/beta/devices/x", 404, {"error": {"code": "x", "message": "y"}})


def test_nullable_conversion() -> None:
    assert openapi30_to_jsonschema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert openapi30_to_jsonschema({"allOf": [{"$ref": "#/x"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]
    }
    assert openapi30_to_jsonschema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
