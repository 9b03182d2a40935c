"""Browser sign-in: an HttpOnly, SameSite=Strict cookie. Token mode: the cookie holds a
session token of its own (a new jti, revoked on sign-out) rather than the token typed in,
and is `Secure`. Dev mode: it holds the user id and is not `Secure`, because dev mode
serves plain http on loopback, where browsers may drop Secure cookies, and the id is no
secret there anyway (dev mode trusts any x-user-id)."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from ultudy.api import revocation
from ultudy.api.auth import SESSION_COOKIE, AuthError, session_token
from ultudy.api.authn import authenticate, identity_in
from ultudy.api.deps import Caller, State
from ultudy.api.schemas.errors import errors
from ultudy.config import AuthMode, Settings

router = APIRouter(prefix="/session", tags=["session"])
NOT_REVOKED = "signing out failed: the broker is unreachable, so the token cannot be revoked yet"


class SignIn(BaseModel):
    user_id: str | None = Field(default=None, description="dev auth mode: your name")
    token: str | None = Field(default=None, description="token auth mode: a bearer token")


class SessionOut(BaseModel):
    user_id: str
    is_admin: bool
    auth: str


def _secure(settings: Settings) -> bool:
    return settings.auth is AuthMode.TOKEN


@router.post(
    "",
    response_model=SessionOut,
    responses=errors(401),
    summary="Sign in (sets the session cookie)",
)
async def sign_in(body: SignIn, state: State, response: Response) -> SessionOut:
    dev = state.settings.auth is AuthMode.DEV
    secret = ((body.user_id if dev else body.token) or "").strip()
    try:
        identity = await authenticate(
            state,
            user_header=secret if dev else None,
            authorization=None if dev else f"Bearer {secret}",
        )
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.message) from exc
    value, max_age_s = secret, state.settings.token_ttl_s
    if identity.token is not None:
        value = session_token(state.settings, identity.token)
        max_age_s = min(max_age_s, identity.token.exp - int(time.time()))
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age_s,
        httponly=True,
        samesite="strict",
        secure=_secure(state.settings),
    )
    return SessionOut(
        user_id=identity.user_id, is_admin=identity.is_admin, auth=state.settings.auth
    )


@router.get("", response_model=SessionOut, summary="Who the session cookie says you are")
async def whoami(caller: Caller, state: State) -> SessionOut:
    return SessionOut(user_id=caller.user_id, is_admin=caller.is_admin, auth=state.settings.auth)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out: revoke the token that signed this request (cookie or header)",
)
async def sign_out(request: Request, state: State, response: Response) -> None:
    caller = identity_in(request.scope)  # None: nothing valid to revoke, just clear
    if caller is not None and caller.token is not None:
        try:
            await revocation.revoke(state.queues.redis, state.settings.redis_prefix, caller.token)
        except RedisError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_REVOKED) from exc
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=_secure(state.settings)
    )
