"""Who is calling: `x-user-id` in dev mode (loopback only), a signed bearer token otherwise.

A token carries its own expiry (`exp`, fixed from the TTL in force when it was made, so a
later change of `ULTUDY_TOKEN_TTL_S` revives nothing) and an id (`jti`) that sign-out and
`ultudy token revoke` put on the revocation list (api/revocation.py). Everything here is
pure: no I/O, the clock can be injected.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ultudy.config import AuthMode, Settings
from ultudy.errors import UltudyError

# Unchanged since the first tokens, so that those still verify and then get the clear
# "create a new token" instead of a bare "not valid".
TOKEN_SALT = "ultudy.token.v1"
USER_ID_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")
SESSION_COOKIE = "ultudy_session"
NO_EXPIRY = "this token has no expiry (it predates expiring tokens); create a new one"


class AuthError(UltudyError):
    """No valid identity."""


@dataclass(frozen=True, kw_only=True)
class Claims:
    """A verified token's content. `parent` is set on a browser session's token: the jti of
    the token signed in with, so that revoking that token ends its sessions too."""

    sub: str
    admin: bool
    exp: int
    jti: str
    parent: str | None = None

    @property
    def revocation_ids(self) -> tuple[str, ...]:
        return (self.jti, self.parent) if self.parent else (self.jti,)


@dataclass(frozen=True, kw_only=True)
class Identity:
    user_id: str
    is_admin: bool
    token: Claims | None = None  # token mode: what authenticated the request


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """What a request presents. `via_cookie`: the session cookie stands in for the header,
    so a browser sent it by itself (what CSRF checks care about)."""

    user_header: str | None
    authorization: str | None
    via_cookie: bool


def credentials(
    headers: Mapping[str, str], cookies: Mapping[str, str], mode: AuthMode
) -> Credentials:
    """Headers first (API clients); the browser's session cookie otherwise, since an
    EventSource cannot send headers. The cookie holds what the header would."""
    user, authorization = headers.get("x-user-id"), headers.get("authorization")
    session = cookies.get(SESSION_COOKIE)
    if not session or user or authorization:
        return Credentials(user_header=user, authorization=authorization, via_cookie=False)
    if mode is AuthMode.DEV:
        return Credentials(user_header=session, authorization=None, via_cookie=True)
    return Credentials(user_header=None, authorization=f"Bearer {session}", via_cookie=True)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key or "", salt=TOKEN_SALT)


def validate_user_id(user_id: str) -> str:
    if not USER_ID_RE.match(user_id):
        raise AuthError("user id must be 1-200 characters of letters, digits and . _ @ + -")
    return user_id


def create_token(
    settings: Settings,
    user_id: str,
    *,
    admin: bool = False,
    expires_at: int | None = None,
    parent: str | None = None,
    now: float | None = None,
) -> str:
    """A signed token valid until `expires_at` (default: now + ULTUDY_TOKEN_TTL_S)."""
    if not settings.secret_key:
        raise AuthError("set ULTUDY_SECRET_KEY to create tokens")
    issued = time.time() if now is None else now
    claims: dict[str, Any] = {
        "sub": validate_user_id(user_id),
        "admin": admin,
        "exp": int(issued + settings.token_ttl_s) if expires_at is None else expires_at,
        "jti": secrets.token_urlsafe(12),
    }
    if parent:
        claims["parent"] = parent
    return _serializer(settings).dumps(claims)


def session_token(settings: Settings, signed_in_with: Claims, *, now: float | None = None) -> str:
    """The browser cookie's own token: a new jti (sign-out revokes it, not the token typed
    in), expiring with the token it came from or after the TTL, whichever is first."""
    issued = time.time() if now is None else now
    return create_token(
        settings,
        signed_in_with.sub,
        admin=signed_in_with.admin,
        parent=signed_in_with.jti,
        expires_at=min(signed_in_with.exp, int(issued + settings.token_ttl_s)),
    )


def verify_token(settings: Settings, token: str, *, now: float | None = None) -> Claims:
    try:
        raw = _serializer(settings).loads(token.strip())
    except BadSignature as exc:
        raise AuthError("the token is not valid") from exc
    if not isinstance(raw, dict) or "exp" not in raw or "jti" not in raw:
        raise AuthError(NO_EXPIRY)
    claims = Claims(
        sub=str(raw["sub"]),
        admin=bool(raw.get("admin")),
        exp=int(raw["exp"]),
        jti=str(raw["jti"]),
        parent=raw.get("parent"),
    )
    if claims.exp <= (time.time() if now is None else now):
        raise AuthError("the token has expired; create a new one")
    return claims


def identify(
    settings: Settings,
    *,
    user_header: str | None,
    authorization: str | None,
    now: float | None = None,
) -> Identity:
    """The caller, or AuthError with the reason (the API answers 401). Revocation is
    checked by the caller of this function (it needs Redis)."""
    if settings.auth is AuthMode.DEV:
        if user_header:
            # Dev mode is loopback-only: everyone on this machine is trusted as an admin.
            return Identity(user_id=validate_user_id(user_header.strip()), is_admin=True)
        raise AuthError("no identity: send the x-user-id header (dev auth mode)")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("no identity: send 'Authorization: Bearer <token>'")
    claims = verify_token(settings, token, now=now)
    return Identity(user_id=claims.sub, is_admin=claims.admin, token=claims)
