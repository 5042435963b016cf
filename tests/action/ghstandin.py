"""A local HTTP stand-in for the slice of GitHub's REST API the action uses (issue comments, and
the pull requests of a commit, for their labels).

This is the one stand-in the project allows: GitHub itself cannot run here. It follows
GitHub's documented behaviour for what the action relies on: `per_page` (max 100) and
`page` paging with a `Link: <...>; rel="next"` header, 201 on create, 200 on update,
422 for a body over 65,536 characters, 401 without the right bearer token.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

LIMIT = 65_536
TOKEN = "ghs_standinTOKEN_5f3a9c1e7d"  # the token tests hand the action; it must never be printed


@dataclass
class GitHubState:
    token: str
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # PR number -> comments
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    next_id: int = 1000
    fail_with_echo: bool = False  # answer 500 and echo the request headers (a careless proxy)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # commit sha -> its pull requests

    def add(self, number: int, body: str, user: str = "someone") -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body,
            "user": {"login": user},
            "html_url": f"https://github.test/pr/{number}#issuecomment-{self.next_id}",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment


def create_app(state: GitHubState) -> Starlette:
    def check(request: Request) -> Response | None:
        query = f"?{request.url.query}" if request.url.query else ""
        state.requests.append((request.method, request.url.path + query))
        if state.fail_with_echo:
            return JSONResponse({"message": f"upstream failed for {dict(request.headers)}"}, status_code=500)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return None

    async def issue_comments(request: Request) -> Response:
        if (denied := check(request)) is not None:
            return denied
        number = int(request.path_params["number"])
        comments = state.comments.setdefault(number, [])
        if request.method == "POST":
            body = (await request.json())["body"]
            if len(body) > LIMIT:
                too_long = "body is too long (maximum is 65536 characters)"
                return JSONResponse(
                    {"message": "Validation Failed", "errors": [{"message": too_long}]}, status_code=422
                )
            return JSONResponse(state.add(number, body, user="github-actions[bot]"), status_code=201)
        per_page = min(int(request.query_params.get("per_page", 30)), 100)
        page = int(request.query_params.get("page", 1))
        chunk = comments[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(comments):
            nxt = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{nxt}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    async def one_comment(request: Request) -> Response:
        if (denied := check(request)) is not None:
            return denied
        comment_id = int(request.path_params["comment_id"])
        body = (await request.json())["body"]
        if len(body) > LIMIT:
            return JSONResponse({"message": "Validation Failed"}, status_code=422)
        for comments in state.comments.values():
            for c in comments:
                if c["id"] == comment_id:
                    c["body"] = body
                    return JSONResponse(c)
        return JSONResponse({"message": "Not Found"}, status_code=404)

    async def commit_pulls(request: Request) -> Response:
        """The pull requests associated with a commit (GitHub answers 200 with a list, maybe empty)."""
        if (denied := check(request)) is not None:
            return denied
        return JSONResponse(state.pulls.get(request.path_params["sha"], []))

    return Starlette(
        routes=[
            Route("/repos/{owner}/{repo}/commits/{sha}/pulls", commit_pulls, methods=["GET"]),
            Route(
                "/repos/{owner}/{repo}/issues/{number:int}/comments", issue_comments, methods=["GET", "POST"]
            ),
            Route("/repos/{owner}/{repo}/issues/comments/{comment_id:int}", one_comment, methods=["PATCH"]),
        ]
    )


@contextmanager
def serve(state: GitHubState) -> Iterator[str]:
    """Serve the stand-in on 127.0.0.1 in a thread; yields its base URL. The socket is bound
    and listening before the thread starts, so clients can connect at once (no waiting)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
