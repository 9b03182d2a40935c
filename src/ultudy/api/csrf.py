"""Cross-site request forgery guard (pure ASGI).

A browser attaches the session cookie by itself, so a request that authenticates by the
cookie alone and changes something (POST, PUT, PATCH, DELETE, or a WebSocket handshake)
must show that it comes from this site: `Sec-Fetch-Site: same-origin` (or `none`: typed
by the user), or, from browsers that do not send that header, an `Origin` (or `Referer`)
equal to the request's own origin. SameSite=Strict already keeps the cookie off other
sites' requests; this also stops a sibling subdomain (same-site, so cookie attached) and
browsers without SameSite. Requests with an Authorization or x-user-id header are not
checked: a cross-site form cannot set headers. Sign-in is checked even without a cookie
(login CSRF: signing a victim in as the attacker). Origins in ULTUDY_CORS_ORIGINS are
accepted as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ultudy.api.authn import presented, refuse
from ultudy.config import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}
WS_SCHEMES = {"ws": "http", "wss": "https"}
SIGN_IN = ("POST", "/session")
REFUSED = (
    "cross-site request refused: a request signed in by the session cookie must come from "
    "this site's pages ({why}); API clients send an Authorization or x-user-id header"
)


def origin_of(url: str, scheme: str | None = None) -> str | None:
    """`scheme://host[:port]`, lower-case, default port dropped; None if not an http(s)
    URL (`Origin: null` included)."""
    parts = urlsplit(url if scheme is None else f"{scheme}://{url}")
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{shown}"


def allowed_origins(settings: Settings) -> frozenset[str]:
    listed = (origin_of(item.strip()) for item in settings.cors_origins.split(","))
    return frozenset(origin for origin in listed if origin)


def refusal(scope: Scope, headers: Mapping[str, str], allowed: frozenset[str]) -> str | None:
    """Why this request looks cross-site, or None when it may go on."""
    origin = headers.get("origin")
    if origin and origin_of(origin) in allowed:
        return None
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in SAFE_FETCH_SITES else REFUSED.format(why=f"Sec-Fetch-Site: {site}")
    source = origin or headers.get("referer")
    if not source:
        return REFUSED.format(why="no Origin, Referer or Sec-Fetch-Site header")
    scheme = WS_SCHEMES.get(scope["scheme"], scope["scheme"])
    own = origin_of(headers.get("host", ""), scheme)
    if own is not None and origin_of(source) == own:
        return None
    return REFUSED.format(why=f"it comes from {origin_of(source) or 'an unknown origin'}")


class CsrfGuard:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.allowed = allowed_origins(settings)

    def _checked(self, scope: Scope, conn: HTTPConnection) -> bool:
        if scope["type"] == "http":
            if (scope["method"], scope["path"]) == SIGN_IN:
                return True
            if scope["method"] not in UNSAFE_METHODS:
                return False
        elif scope["type"] != "websocket":
            return False
        return presented(conn, self.settings.auth).via_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            conn = HTTPConnection(scope)
            why = refusal(scope, conn.headers, self.allowed) if self._checked(scope, conn) else None
            if why is not None:
                await refuse(scope, receive, send, 403, why)
                return
        await self.app(scope, receive, send)
