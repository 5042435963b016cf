"""Principal, provisioning tokens and git commits."""

from __future__ import annotations

import re
import secrets
import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.http import (
    Ctx,
    api,
    list_page,
    new_filter,
    not_found,
    ok,
    order_sql,
    req_str,
    unprocessable,
)
from reconciler.emulator.store import iso, new_id, write

ORDER = {"id": "id", "created_at": "created_at"}
TOKEN_TTL = 3600.0
# https://github.com/owner/name(.git), git@github.com:owner/name(.git)
_ORIGIN = re.compile(r"^(?:https?://|ssh://git@|git@)(?P<host>[^/:]+)[/:](?P<owner>[^/]+)/(?P<name>[^/]+?)"
                     r"(?:\.git)?/?$")
_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}


def principal(ctx: Ctx) -> Response:
    name = "Emulator read-write key" if ctx.role == "rw" else "Emulator read-only key"
    return ok({"object": "principal", "id": f"prn_emulator_{ctx.role}", "name": name})


def provisioning_token(ctx: Ctx) -> Response:
    return ok({"token": "emu_prov_" + secrets.token_hex(16), "expires_at": iso(ctx.now + TOKEN_TTL)})


def _commit(conn: sqlite3.Connection, commit_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM git_commits WHERE id = ?",
        (commit_id,)).fetchone()
    if row is None:
        raise not_found("git commit", commit_id)
    return row


def create_commit(ctx: Ctx) -> Response:
    body = ctx.obj()
    sha, message, origin = req_str(body, "sha"), req_str(body, "message"), req_str(body, "origin")
    m = _ORIGIN.match(origin)
    if m is None or m["host"] not in _HOSTS:
        raise unprocessable("origin must be a github.com, gitlab.com or bitbucket.org repository URL",
                            field="origin", origin=origin)
    owner, name, host = m["owner"], m["name"], m["host"]
    repo_url = f"https://{host}/{owner}/{name}"
    commit_path = "commits" if host == "bitbucket.org" else ("-/commit" if host == "gitlab.com" else "commit")
    with write(ctx.conn):
        commit_id = new_id("git_cmt")
        ctx.conn.execute("INSERT INTO git_commits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (commit_id, sha, message, owner, name, _HOSTS[host], repo_url,
                          f"{repo_url}/{commit_path}/{sha}", ctx.now))
        row = _commit(ctx.conn, commit_id)
    return ok(views.git_commits(ctx.conn, [row])[0])


def get_commit(ctx: Ctx) -> Response:
    return ok(views.git_commits(ctx.conn, [_commit(ctx.conn, ctx.path("git_commit_id"))])[0])


def list_commits(ctx: Ctx) -> Response:
    expand = ctx.expand(("total_count",))
    flt = new_filter()
    flt.any_of("id", ctx.values("id"))
    flt.any_of("sha", ctx.values("sha"))
    return list_page(ctx, "git_commits", flt, order_sql(ctx, ORDER),
                     lambda rows: views.git_commits(ctx.conn, rows), "total_count" in expand)


routes = [
    Route("/principal", api("principal", principal), methods=["GET"]),
    Route("/provisioning_tokens", api("provisioning_tokens", provisioning_token), methods=["POST"]),
    Route("/git_commits", api("git_commits", list_commits), methods=["GET"]),
    Route("/git_commits", api("git_commits", create_commit), methods=["POST"]),
    Route("/git_commits/{git_commit_id}", api("git_commits", get_commit), methods=["GET"]),
]
