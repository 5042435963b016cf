"""Principal, provisioning tokens and git commits."""

from __future__ import annotations

import hashlib
import re
import secrets

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import platform, scopes, views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, unprocessable
from reconciler.emulator.fields import req_str
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.ids import new_id
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import write
from reconciler.emulator.times import iso

GIT_COMMITS = Resource("git_commits", "git commit", "git_commit_id", views.git_commits, filters=("id", "sha"))
TOKEN_TTL = 3600.0
# https://github.com/owner/name(.git), git@github.com:owner/name(.git)
_ORIGIN = re.compile(
    r"^(?:https?://|ssh://git@|git@)(?P<host>[^/:]+)[/:](?P<owner>[^/]+)/(?P<name>[^/]+?)"
    r"(?:\.git)?/?$"
)
_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}


def principal(ctx: Ctx) -> Response:
    suffix = {scopes.ROLES["rw"]: "rw", scopes.ROLES["ro"]: "ro"}.get(ctx.scopes)
    if suffix is None:
        suffix = hashlib.sha256(ctx.key_name.encode()).hexdigest()[:12]
    return ok({"object": "principal", "id": f"prn_emulator_{suffix}", "name": ctx.key_name})


def provisioning_token(ctx: Ctx) -> Response:
    return ok({"token": "emu_prov_" + secrets.token_hex(16), "expires_at": iso(ctx.now + TOKEN_TTL)})


def create_commit(ctx: Ctx) -> Response:
    expand = GIT_COMMITS.expansions(ctx)
    body = ctx.obj()
    sha, message, origin = req_str(body, "sha"), req_str(body, "message"), req_str(body, "origin")
    m = _ORIGIN.match(origin)
    if m is None or m["host"] not in _HOSTS:
        raise unprocessable(
            "origin must be a github.com, gitlab.com or bitbucket.org repository URL",
            field="origin",
            origin=origin,
        )
    owner, name, host = m["owner"], m["name"], m["host"]
    repo_url = f"https://{host}/{owner}/{name}"
    commit_path = "commits" if host == "bitbucket.org" else ("-/commit" if host == "gitlab.com" else "commit")
    with write(ctx.conn):
        taken = ctx.conn.execute("SELECT id FROM git_commits WHERE sha = ?", (sha,)).fetchone()
        if taken is not None and platform.current().git_commit_sha == "unique":
            raise conflict("a git commit with this sha exists", "git_commit_exists", sha=sha, id=taken["id"])
        commit_id = new_id("git_cmt")
        ctx.conn.execute(
            "INSERT INTO git_commits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                commit_id,
                sha,
                message,
                owner,
                name,
                _HOSTS[host],
                repo_url,
                f"{repo_url}/{commit_path}/{sha}",
                ctx.now,
            ),
        )
        row = GIT_COMMITS.row(ctx.conn, commit_id)
    return GIT_COMMITS.one(ctx, row, expand)


routes = [
    Route("/principal", api("principal", principal, needs=()), methods=["GET"]),
    Route(
        "/provisioning_tokens",
        api(
            "provisioning_tokens",
            provisioning_token,
            needs=("devices:provision", "provisioning_tokens:write"),
        ),
        methods=["POST"],
    ),
    Route("/git_commits", api("git_commits", GIT_COMMITS.list), methods=["GET"]),
    Route("/git_commits", api("git_commits", create_commit), methods=["POST"]),
    Route("/git_commits/{git_commit_id}", api("git_commits", GIT_COMMITS.get), methods=["GET"]),
]
