"""Who may call: the request's API key and its scopes (401, 403), and the Miru-Version header the
platform API requires (400)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from starlette.requests import Request

from reconciler.emulator import scopes
from reconciler.emulator.errors import ApiError, invalid
from reconciler.emulator.store import Store

# Only the version whose shapes the emulator answers in: an older version (tetons, the SDK's
# default; rainier) is refused rather than answered in everglades shapes it did not ask for.
VERSIONS = ("2026-08-17.everglades",)


OLDER_VERSIONS = ("2026-03-09.tetons", "2026-05-06.rainier")


def key_scopes(store: Store, request: Request) -> tuple[str, frozenset[str]]:
    """(name, scopes) of the request's key: the server's keys first, then the db's (seed and
    admin API). 401 without a key or for an unknown one."""
    key = request.headers.get("x-api-key")
    if not key:
        raise ApiError(401, "unauthorized", "missing X-API-Key header")
    held = store.api_keys.get(key)
    if held is not None:
        return key_label(held), held
    found = scopes.stored_key(store.conn, key)
    if found is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return found


def key_label(held: frozenset[str]) -> str:
    if held == scopes.ROLES["rw"]:
        return "Emulator read-write key"
    if held == scopes.ROLES["ro"]:
        return "Emulator read-only key"
    return "Emulator key"


def check_scopes(held: frozenset[str], needed: Iterable[str]) -> None:
    lacking = scopes.missing(held, needed)
    if lacking:
        raise ApiError(
            403,
            "forbidden",
            f"the API key lacks the {', '.join(lacking)} scope{'s' if len(lacking) > 1 else ''}",
            {"scope": lacking[0], "missing_scopes": lacking},
        )


def version_and_scope(
    resource: str, needs: Sequence[str] | None
) -> Callable[[Request, frozenset[str]], None]:
    def check(request: Request, held: frozenset[str]) -> None:
        version = request.headers.get("miru-version")
        if not version:
            raise invalid("missing Miru-Version header", supported=list(VERSIONS))
        if version not in VERSIONS:
            why = " (the emulator answers only in everglades shapes)" if version in OLDER_VERSIONS else ""
            raise invalid(f"unsupported Miru-Version {version!r}{why}", supported=list(VERSIONS))
        if needs is not None:
            check_scopes(held, needs)
        else:
            check_scopes(held, [f"{resource}:{'read' if request.method in ('GET', 'HEAD') else 'write'}"])

    return check


def admin_scope(request: Request, held: frozenset[str]) -> None:
    if not scopes.has(held, scopes.ADMIN):
        raise ApiError(403, "forbidden", "the admin API needs a read-write key", {"scope": scopes.ADMIN})
