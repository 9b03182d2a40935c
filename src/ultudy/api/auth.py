"""Who is calling: `x-user-id` in dev mode (loopback only), a signed bearer token otherwise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ultudy.config import AuthMode, Settings

TOKEN_SALT = "ultudy.token.v1"
USER_ID_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,200}$")


class AuthError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Identity:
    user_id: str
    is_admin: bool


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key or "", salt=TOKEN_SALT)


def validate_user_id(user_id: str) -> str:
    if not USER_ID_RE.match(user_id):
        raise AuthError("user id must be 1-200 characters of letters, digits and . _ @ + -")
    return user_id


def create_token(settings: Settings, user_id: str, *, admin: bool = False) -> str:
    if not settings.secret_key:
        raise AuthError("set ULTUDY_SECRET_KEY to create tokens")
    return _serializer(settings).dumps({"sub": validate_user_id(user_id), "admin": admin})


def identify(settings: Settings, *, user_header: str | None, authorization: str | None) -> Identity:
    """The caller, or AuthError with the reason (the API answers 401)."""
    if settings.auth is AuthMode.DEV:
        if user_header:
            # Dev mode is loopback-only: everyone on this machine is trusted as an admin.
            return Identity(user_id=validate_user_id(user_header.strip()), is_admin=True)
        raise AuthError("no identity: send the x-user-id header (dev auth mode)")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("no identity: send 'Authorization: Bearer <token>'")
    try:
        claims = _serializer(settings).loads(token.strip(), max_age=settings.token_ttl_s)
    except SignatureExpired as exc:
        raise AuthError("the token has expired; create a new one") from exc
    except BadSignature as exc:
        raise AuthError("the token is not valid") from exc
    return Identity(user_id=str(claims["sub"]), is_admin=bool(claims.get("admin")))
