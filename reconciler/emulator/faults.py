"""Fault injection: rules kept in the emulator db, applied by an ASGI middleware.

Rules live in SQLite (not in process memory) so every process serving one db file
sees the same rules and the same `times` budget. Which requests fail is decided by a
counter-indexed hash of the seed, so a run with the same seed and the same request
sequence fails the same requests.

Admin paths (`/_emulator/...`) are never faulted: the test driving the faults must
always be able to change or clear them.

Two fields shape a fault in time rather than by chance: `for_seconds` keeps a rule firing for
that long on the emulator's clock from when the rules were set (a rate limit that lasts 30 s,
however many retries it meets), and `hold: N` keeps the first N matching requests waiting
until all N have arrived, then lets them through together: two clients that must race (each
reads before either writes) are made to, without sleeping. Held requests live in the serving
process (one `reconcile emulator serve`), and a party that never comes releases the others
after `HOLD_LIMIT` seconds of wall time.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, replace
from typing import Any

import anyio
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator import clock
from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import error_response, invalid
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.store import Store, write

SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_fault_config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seed INTEGER NOT NULL,
    draws INTEGER NOT NULL,          -- random draws made so far (the RNG's position)
    latency_skipped REAL NOT NULL    -- latency recorded instead of slept (manual clock)
);
CREATE TABLE IF NOT EXISTS emu_fault_rules (
    position INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    matched INTEGER NOT NULL DEFAULT 0,
    fired INTEGER NOT NULL DEFAULT 0
);
"""

ADMIN_PREFIX = "/_emulator/"
HOLD_LIMIT = 30.0  # wall seconds a held request waits for the rest of its party
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    409: "conflict",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class Rule:
    method: str = "*"
    path: str = "*"
    status: int | None = None
    rate: float = 1.0
    retry_after: float | None = None
    latency: float = 0.0
    commit_then_fail: bool = False
    times: int | None = None
    query: str = "*"  # a glob over the raw query string (`*slot_key=*`)
    for_seconds: float | None = None  # fires while the emulator clock is before `until`
    hold: int | None = None  # the first `hold` matching requests wait for each other
    until: float | None = None  # set when the rules are put: their time + for_seconds

    def matches(self, method: str, path: str, query: str = "") -> bool:
        return (
            self.method in ("*", method.upper())
            and fnmatch.fnmatchcase(path, self.path)
            and fnmatch.fnmatchcase(query, self.query)
        )

    def answer_status(self) -> int | None:
        return self.status if self.status is not None else (500 if self.commit_then_fail else None)


class InvalidRules(ValueError):
    """The PUT body is not a valid rule set; the message names the rule and field."""


def ensure_schema(conn: sqlite3.Connection) -> None:
    # Not executescript: it would commit whatever transaction the caller has open.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def parse_rules(body: Any) -> tuple[list[Rule], int]:
    """Validate a `PUT /_emulator/faults` body into rules and a seed."""
    if not isinstance(body, dict):
        raise InvalidRules("body must be an object with `rules` (a list) and an optional `seed`")
    unknown = set(body) - {"rules", "seed"}
    if unknown:
        raise InvalidRules(f"unknown field(s): {', '.join(sorted(unknown))}")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidRules("seed must be an integer")
    raw_rules = body.get("rules", [])
    if not isinstance(raw_rules, list):
        raise InvalidRules("rules must be a list")
    return [_parse_rule(i, r) for i, r in enumerate(raw_rules)], seed


def _parse_rule(i: int, raw: Any) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise InvalidRules(f"{where} must be an object")
    fields = set(Rule.__dataclass_fields__) - {"until"}
    unknown = set(raw) - fields
    if unknown:
        raise InvalidRules(f"{where}: unknown field(s): {', '.join(sorted(unknown))}")

    def number(name: str, default: float | None, lo: float, hi: float | None) -> float | None:
        value = raw.get(name)
        if value is None:  # omitted or null: the default
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < lo
            or (hi is not None and value > hi)
        ):
            bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
            raise InvalidRules(f"{where}.{name} must be a number {bound}")
        return float(value)

    method = raw.get("method") or "*"
    path = raw.get("path") or "*"
    query = raw.get("query") or "*"
    if not all(isinstance(x, str) for x in (method, path, query)):
        raise InvalidRules(f"{where}: method, path and query must be strings")
    status = raw.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise InvalidRules(f"{where}.status must be an HTTP error status (400..599)")
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise InvalidRules(f"{where}.times must be a non-negative integer or null")
    hold = raw.get("hold")
    if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold < 2):
        raise InvalidRules(f"{where}.hold must be an integer >= 2 (the requests that wait for each other)")
    commit = raw.get("commit_then_fail", False)
    if not isinstance(commit, bool):
        raise InvalidRules(f"{where}.commit_then_fail must be a boolean")
    rule = Rule(
        method=method.upper(),
        path=path,
        status=status,
        rate=number("rate", 1.0, 0.0, 1.0) or 0.0,
        retry_after=number("retry_after", None, 0.0, None),
        latency=number("latency", 0.0, 0.0, 3600.0) or 0.0,
        commit_then_fail=commit,
        times=times,
        query=query,
        for_seconds=number("for_seconds", None, 0.0, None),
        hold=hold,
    )
    if rule.answer_status() is None and rule.latency == 0 and rule.hold is None:
        raise InvalidRules(f"{where} does nothing: give it a status, a latency, a hold or commit_then_fail")
    return rule


def put_rules(conn: sqlite3.Connection, rules: list[Rule], seed: int) -> None:
    """Replace the rule set and restart the RNG at the seed."""
    now = clock.now(conn)
    rules = [r if r.for_seconds is None else replace(r, until=now + r.for_seconds) for r in rules]
    conn.execute("DELETE FROM emu_fault_rules")
    conn.execute("DELETE FROM emu_fault_config")
    conn.execute(
        "INSERT INTO emu_fault_config (id, seed, draws, latency_skipped) VALUES (1, ?, 0, 0)", (seed,)
    )
    conn.executemany(
        "INSERT INTO emu_fault_rules (position, rule) VALUES (?, ?)",
        [(i, json.dumps(asdict(r))) for i, r in enumerate(rules)],
    )


def reset(conn: sqlite3.Connection) -> None:
    """No rules (an admin reset): every request runs normally again."""
    conn.execute("DELETE FROM emu_fault_rules")
    conn.execute("DELETE FROM emu_fault_config")


def get_rules(conn: sqlite3.Connection) -> dict[str, Any]:
    config = conn.execute("SELECT seed, draws, latency_skipped FROM emu_fault_config").fetchone()
    rows = conn.execute("SELECT rule, matched, fired FROM emu_fault_rules ORDER BY position").fetchall()
    return {
        "seed": config[0] if config else 0,
        "draws": config[1] if config else 0,
        "latency_skipped": config[2] if config else 0.0,
        "rules": [{**json.loads(rule), "matched": matched, "fired": fired} for rule, matched, fired in rows],
    }


def draw(seed: int, n: int) -> float:
    """The n-th number in [0, 1) of the seed's sequence (stable across processes and Pythons)."""
    digest = hashlib.sha256(f"{seed}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Decision:
    rule: Rule
    position: int
    fired: int  # how many times the rule has fired, this request included


def decide(conn: sqlite3.Connection, method: str, path: str, query: str = "") -> Decision | None:
    """The rule that fires for this request, if any, updating counters. The first matching
    rule with budget left gets a draw; if it does not fire, later rules still get theirs."""
    rows = conn.execute("SELECT position, rule, fired FROM emu_fault_rules ORDER BY position").fetchall()
    if not rows:
        return None
    config = conn.execute("SELECT seed, draws FROM emu_fault_config").fetchone()
    seed, draws = (config[0], config[1]) if config else (0, 0)
    chosen: Decision | None = None
    now = clock.now(conn)
    for position, raw, fired in rows:
        rule = Rule(**json.loads(raw))
        if not rule.matches(method, path, query) or (rule.times is not None and fired >= rule.times):
            continue
        if rule.until is not None and now >= rule.until:
            continue
        conn.execute("UPDATE emu_fault_rules SET matched = matched + 1 WHERE position = ?", (position,))
        fires = True
        if rule.rate < 1.0:
            fires = draw(seed, draws) < rule.rate
            draws += 1
        if fires:
            conn.execute("UPDATE emu_fault_rules SET fired = fired + 1 WHERE position = ?", (position,))
            chosen = Decision(rule, position, fired + 1)
            break
    conn.execute("UPDATE emu_fault_config SET draws = ? WHERE id = 1", (draws,))
    return chosen


def record_skipped_latency(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute("UPDATE emu_fault_config SET latency_skipped = latency_skipped + ? WHERE id = 1", (seconds,))


class FaultMiddleware:
    """Applies the db's fault rules to every non-admin request.

    With a manual clock, latency is recorded (`latency_skipped` in `GET /_emulator/faults`,
    response header `X-Emulator-Latency`) instead of slept, so tests never wait on wall
    time; with the real clock it is slept (without holding the db lock).
    """

    def __init__(self, app: ASGIApp, *, store: Store):
        self.app = app
        self.store = store
        self._parties: dict[int, anyio.Event] = {}  # held requests, by rule position

    async def _hold(self, decision: Decision) -> None:
        """Wait until the rule's `hold` requests have all arrived (or HOLD_LIMIT passes)."""
        rule = decision.rule
        assert rule.hold is not None
        if decision.fired > rule.hold:
            return
        # The first of a party opens it (a rule set put again starts a new party); no await
        # comes between `decide` and here, so the rest of the party finds it open.
        if decision.fired == 1:
            self._parties[decision.position] = anyio.Event()
        party = self._parties.setdefault(decision.position, anyio.Event())
        if decision.fired == rule.hold:
            party.set()
            return
        with anyio.move_on_after(HOLD_LIMIT):
            await party.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        with self.store.lock:
            # Most requests run with no rules at all: they skip the write lock.
            any_rules = self.store.conn.execute("SELECT 1 FROM emu_fault_rules LIMIT 1").fetchone()
        if any_rules is None:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        with self.store.lock, write(self.store.conn) as conn:
            decision = decide(conn, scope["method"], path, query)
            rule = decision.rule if decision else None
            manual = clock.mode(conn) == "manual"
            if rule is not None and rule.latency and manual:
                record_skipped_latency(conn, rule.latency)
        if decision is None or rule is None:
            await self.app(scope, receive, send)
            return
        if rule.hold is not None:
            await self._hold(decision)
        extra_headers: list[tuple[bytes, bytes]] = []
        if rule.latency:
            if manual:
                extra_headers.append((b"x-emulator-latency", _seconds(rule.latency).encode()))
            else:
                await anyio.sleep(rule.latency)
        status = rule.answer_status()
        if status is None:
            await self.app(scope, receive, _add_headers(send, extra_headers))
            return
        if rule.commit_then_fail:
            # Run the request for its side effects and drop the answer: the write is
            # committed, the client sees a failure (the "lost response" case).
            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
        headers = {k.decode(): v.decode() for k, v in extra_headers}
        if rule.retry_after is not None:
            headers["Retry-After"] = _seconds(rule.retry_after)
        message = "injected fault" + (" after the write was applied" if rule.commit_then_fail else "")
        response = error_response(
            status, STATUS_CODES.get(status, "error"), message, {"injected": True}, headers=headers
        )
        await response(scope, receive, send)


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _add_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    if not headers:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return wrapped


def put_faults(ctx: Ctx) -> Response:
    try:
        rules, seed = parse_rules(ctx.body)
    except InvalidRules as e:
        raise invalid(str(e), field="rules") from None
    with write(ctx.conn) as conn:
        ensure_schema(conn)
        put_rules(conn, rules, seed)
    return ok(get_rules(ctx.conn))


def get_faults(ctx: Ctx) -> Response:
    return ok(get_rules(ctx.conn))


def routes() -> list[Route]:
    return [
        Route("/_emulator/faults", admin(put_faults), methods=["PUT"]),
        Route("/_emulator/faults", admin(get_faults), methods=["GET"]),
    ]
