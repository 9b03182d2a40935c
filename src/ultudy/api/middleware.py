"""Pure ASGI middlewares that guard every request before any route sees it.

- `BodyLimit` counts request body bytes as they arrive, so a chunked body with no
  Content-Length is cut off at the limit instead of being buffered or spooled whole;
  a declared Content-Length over the limit is refused unread.
- `LoopbackOnly` (dev auth only): dev auth believes `x-user-id`, so the app itself,
  however it was started, serves only loopback clients that name a loopback Host (a
  DNS-rebinding page in a browser on this machine sends its own domain as Host).
- `SecurityHeaders` adds a self-only Content-Security-Policy and friends to every response.

They are plain ASGI classes rather than `BaseHTTPMiddleware`: that one reads the body
through its own stream and would hide the byte count from us.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ultudy.api.routes import uploads
from ultudy.config import AuthMode, Settings
from ultudy.errors import UltudyError

UPLOAD_PATH_PREFIX = "/upload/"
KB = 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN and start them with
# an inline script; they show the API's schema, no user data.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


async def send_json(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    """A whole JSON `{"detail"}` response; `close` asks the server to drop the connection
    (uvicorn honours `connection: close`) rather than read a body nobody wants."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope.get("headers", ()) if key.lower() == name]
    return values[0].decode("latin-1") if len(values) == 1 else None


# --- body limit ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BodyCap:
    max_bytes: int
    detail: str


class BodyTooLargeError(UltudyError):
    """Raised into the app from `receive` once the body passes its cap."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, cap_for: Callable[[str], BodyCap]) -> None:
        self.app = app
        self.cap_for = cap_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap.max_bytes:
            await send_json(send, 413, cap.detail, close=True)
            return
        await _CappedExchange(cap, receive, send).run(self.app, scope)


class _CappedExchange:
    """One request whose body is counted. Past the cap, `receive` raises into the app and
    whatever the app answers then (FastAPI turns a body read error into a 400) is replaced
    by our 413."""

    def __init__(self, cap: BodyCap, receive: Receive, send: Send) -> None:
        self.cap = cap
        self._receive = receive
        self._send = send
        self.received_bytes = 0
        self.over = False
        self.started = False

    async def receive(self) -> Message:
        if self.over:
            raise BodyTooLargeError(self.cap.detail)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received_bytes += len(message.get("body", b""))
            if self.received_bytes > self.cap.max_bytes:
                self.over = True
                raise BodyTooLargeError(self.cap.detail)
        return message

    async def send(self, message: Message) -> None:
        if self.over:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        try:
            await app(scope, self.receive, self.send)
        except Exception:
            if not self.over:
                raise
        # A response already under way cannot become a 413; the server ends it short.
        if self.over and not self.started:
            await send_json(self._send, 413, self.cap.detail, close=True)


def body_caps(settings: Settings) -> Callable[[str], BodyCap]:
    upload = BodyCap(
        max_bytes=uploads.request_limit_bytes(settings), detail=uploads.too_large_detail(settings)
    )
    other = BodyCap(
        max_bytes=settings.max_json_kb * KB,
        detail=f"The request body is larger than the {settings.max_json_kb} KB limit.",
    )
    return lambda path: upload if path.startswith(UPLOAD_PATH_PREFIX) else other


# --- dev auth: loopback only -----------------------------------------------------------


def is_loopback_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket
    return ip.is_loopback


def is_loopback_host(host: str) -> bool:
    """A Host header naming this machine: localhost, 127.x.y.z or [::1], any port."""
    name, port = host, ""
    if host.startswith("["):
        name, bracket, port = host[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return False
        port = port[1:]
    elif ":" in host:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    name = name.lower().removesuffix(".")
    return name == "localhost" or is_loopback_address(name)


def loopback_refusal(scope: Scope) -> str | None:
    """Why a dev-mode request is refused, or None when it comes from this machine."""
    client = scope.get("client")
    if not client or not is_loopback_address(str(client[0])):
        return (
            "Dev auth mode (ULTUDY_AUTH=dev) serves only this machine's loopback "
            "clients; use ULTUDY_AUTH=token to serve a network."
        )
    if not is_loopback_host(_header(scope, b"host") or ""):
        return (
            "Dev auth mode (ULTUDY_AUTH=dev) answers only requests addressed to "
            "localhost, 127.0.0.1 or [::1] (the Host header); open it by one of those "
            "names."
        )
    return None


class LoopbackOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = loopback_refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await send_json(send, 403, refusal)
        else:
            await _refuse_websocket(scope, receive, send, refusal)


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})


# --- security headers ------------------------------------------------------------------


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in self.docs_paths
        policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY
        extra = ((b"content-security-policy", policy.encode()), *SECURITY_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {key.lower() for key, _ in headers}
                headers += [(key, value) for key, value in extra if key not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Register the guards; the last added runs first: headers on every answer, then the
    loopback check before anything is read, then the body limit."""
    app.add_middleware(BodyLimit, cap_for=body_caps(settings))
    if settings.auth is AuthMode.DEV:
        app.add_middleware(LoopbackOnly)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, docs_paths=[path for path in docs if path])
