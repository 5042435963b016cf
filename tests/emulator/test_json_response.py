"""The emulator's JSON answers: orjson's bytes where it can, the stdlib's where it cannot, the
same text either way (compact, UTF-8, not ASCII-escaped)."""

from __future__ import annotations

import json

from reconciler.emulator.json_response import FastJSONResponse


def test_orjson_and_the_stdlib_give_the_same_text() -> None:
    body = {"name": "amr-ñ-01 \u2028", "n": 3, "x": 1.5, "none": None, "list": [True, False]}
    stdlib = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert FastJSONResponse(body).body == stdlib


def test_an_integer_orjson_refuses_is_written_by_the_stdlib() -> None:
    assert FastJSONResponse({"n": 2**70}).body == b'{"n":1180591620717411303424}'


def test_a_lone_surrogate_is_escaped_not_a_server_error() -> None:
    body = FastJSONResponse({"name": "amr-\ud800"}).body
    assert body == b'{"name":"amr-\\ud800"}'
    assert json.loads(bytes(body)) == {"name": "amr-\ud800"}
