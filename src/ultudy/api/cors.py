"""Cross-origin callers (a React app on another origin): Starlette's CORS middleware with
the allow-list `ULTUDY_CORS_ORIGINS`, none by default.

It must wrap every other guard. A browser's preflight (`OPTIONS` with
`Access-Control-Request-Method`) carries no credentials, so the authentication would
refuse it with 401 and the browser would never send the real request; and a refusal
from an inner guard (401, 403, 413) needs the CORS headers too, or the caller's script
sees an opaque network error instead of the message.

The headers a client may send are those the API reads: `Authorization` (token mode),
`x-user-id` (dev mode), `Content-Type` and `Last-Event-ID` (an SSE client read with
`fetch` resumes its stream with it). Cookies are allowed (`credentials: "include"`); a
cookie-signed change from a listed origin also passes the CSRF guard, which trusts the
same list. WebSockets are not subject to CORS: browsers send their `Origin`, and the
CSRF guard checks a cookie-signed handshake against this list.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from ultudy.api.csrf import allowed_origins
from ultudy.config import Settings

ALLOWED_HEADERS = ("authorization", "content-type", "last-event-id", "x-user-id")
EXPOSED_HEADERS = ("retry-after",)
PREFLIGHT_MAX_AGE_S = 600


def install(app: FastAPI, settings: Settings) -> None:
    """Add the CORS layer; call it after every other middleware so that it runs first."""
    origins = allowed_origins(settings)
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=sorted(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=True,
        max_age=PREFLIGHT_MAX_AGE_S,
    )
