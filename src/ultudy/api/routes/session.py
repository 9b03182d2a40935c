"""Browser sign-in: a SameSite=Strict cookie holding the dev user id or the bearer token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from ultudy.api.auth import AuthError, identify
from ultudy.api.deps import SESSION_COOKIE, Caller, State
from ultudy.config import AuthMode

router = APIRouter(prefix="/session", tags=["session"])


class SignIn(BaseModel):
    user_id: str | None = Field(default=None, description="dev auth mode: your name")
    token: str | None = Field(default=None, description="token auth mode: a bearer token")


class SessionOut(BaseModel):
    user_id: str
    is_admin: bool
    auth: str


@router.post("", response_model=SessionOut, summary="Sign in (sets the session cookie)")
async def sign_in(body: SignIn, state: State, response: Response) -> SessionOut:
    dev = state.settings.auth is AuthMode.DEV
    secret = (body.user_id if dev else body.token) or ""
    try:
        identity = identify(
            state.settings,
            user_header=secret if dev else None,
            authorization=None if dev else f"Bearer {secret}",
        )
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.message) from exc
    response.set_cookie(SESSION_COOKIE, secret.strip(), httponly=True, samesite="strict",
                        max_age=state.settings.token_ttl_s)  # fmt: skip
    return SessionOut(
        user_id=identity.user_id, is_admin=identity.is_admin, auth=state.settings.auth
    )


@router.get("", response_model=SessionOut, summary="Who the session cookie says you are")
async def whoami(caller: Caller, state: State) -> SessionOut:
    return SessionOut(user_id=caller.user_id, is_admin=caller.is_admin, auth=state.settings.auth)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
async def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
