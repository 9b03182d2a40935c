"""Authentication before the body: an ASGI middleware that resolves the caller from the
headers or the session cookie and refuses a request to a non-public path with 401 before
a byte of its body is read (FastAPI reads and parses bodies before dependencies run, so a
dependency alone would let an anonymous client make the API spool a large upload).

The outcome (an Identity, or the AuthError saying why there is none) is left in
`scope["state"]["identity"]`; `deps.get_identity`, the pages and the WebSocket read it
from there, so there is one resolver.
"""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ultudy.api import revocation
from ultudy.api.auth import AuthError, Credentials, Identity, credentials, identify
from ultudy.api.state import AppState
from ultudy.config import AuthMode

STATE_KEY = "identity"
CREDENTIALS_KEY = "credentials"
REVOKED = "this token was revoked (signed out); sign in again or create a new token"
UNCHECKED_PREFIXES = ("/static/",)
CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Served without an identity: sign-in and sign-out, the pages (they redirect to /signin
# themselves), the API docs and the probes. Everything else, unknown paths included, needs one.
PUBLIC_ROUTES: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = (
    (frozenset({"POST", "DELETE"}), re.compile(r"/session")),
    (
        frozenset({"GET", "HEAD"}),
        re.compile(
            r"/|/signin|/jobs-view|/admin|/(documents|lessons)/[^/]+/view"
            r"|/docs|/docs/oauth2-redirect|/redoc|/openapi\.json|/livez|/readyz"
        ),
    ),
)


def is_public(method: str, path: str) -> bool:
    return any(method in methods and rx.fullmatch(path) for methods, rx in PUBLIC_ROUTES)


async def authenticate(
    state: AppState, *, user_header: str | None, authorization: str | None
) -> Identity:
    """The caller, or AuthError: a valid dev header or a valid, unrevoked token."""
    who = identify(state.settings, user_header=user_header, authorization=authorization)
    if who.token and await revocation.is_revoked(
        state.queues.redis, state.settings.redis_prefix, who.token
    ):
        raise AuthError(REVOKED)
    return who


def presented(conn: HTTPConnection, mode: AuthMode) -> Credentials:
    """What the request presents (header or session cookie), read once per request: the
    CSRF guard and the authentication both ask, and must see the same."""
    state = conn.scope.setdefault("state", {})
    found: Credentials | None = state.get(CREDENTIALS_KEY)
    if found is None:
        found = state[CREDENTIALS_KEY] = credentials(conn.headers, conn.cookies, mode)
    return found


async def resolve(state: AppState, conn: HTTPConnection) -> Identity | AuthError:
    found = presented(conn, state.settings.auth)
    try:
        return await authenticate(
            state, user_header=found.user_header, authorization=found.authorization
        )
    except AuthError as exc:
        return exc


def outcome(scope: Scope) -> Identity | AuthError:
    result: Identity | AuthError | None = scope.get("state", {}).get(STATE_KEY)
    return result if result is not None else AuthError("no identity")


def identity_in(scope: Scope) -> Identity | None:
    """The caller the middleware found, or None (public paths may have none)."""
    result = outcome(scope)
    return result if isinstance(result, Identity) else None


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status_code: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """A JSON refusal; for a WebSocket, of the handshake (a close where the server cannot
    send an HTTP response, which clients see as 403)."""
    response = JSONResponse({"detail": detail}, status_code, headers=headers)
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    websocket = WebSocket(scope, receive, send)
    if "websocket.http.response" in scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008, reason=detail)  # 1008: policy violation


class Authentication:
    """Pure ASGI, so that nothing reads `receive` before the decision."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(
            UNCHECKED_PREFIXES
        ):
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.ultudy
        result = await resolve(state, HTTPConnection(scope))
        scope.setdefault("state", {})[STATE_KEY] = result
        method = scope.get("method", "GET")  # a WebSocket handshake is a GET
        if isinstance(result, AuthError) and not is_public(method, scope["path"]):
            await refuse(scope, receive, send, 401, result.message, CHALLENGE)
            return
        await self.app(scope, receive, send)
