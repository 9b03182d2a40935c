"""FastAPI dependencies as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, HTTPException, Request, status

from ultudy.api.auth import AuthError, Identity, identify
from ultudy.api.state import AppState
from ultudy.config import AuthMode
from ultudy.jobs.service import JobService


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ultudy
    return state


State = Annotated[AppState, Depends(get_state)]


SESSION_COOKIE = "ultudy_session"


def get_identity(
    state: State,
    x_user_id: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Identity:
    """Headers first (API clients); the browser's session cookie otherwise, since an
    EventSource cannot send headers. The cookie holds what the header would."""
    if session and not (x_user_id or authorization):
        if state.settings.auth is AuthMode.DEV:
            x_user_id = session
        else:
            authorization = f"Bearer {session}"
    try:
        return identify(state.settings, user_header=x_user_id, authorization=authorization)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


Caller = Annotated[Identity, Depends(get_identity)]


def get_admin(caller: Caller) -> Identity:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an admin token")
    return caller


Admin = Annotated[Identity, Depends(get_admin)]


def get_jobs(state: State) -> JobService:
    return state.jobs


Jobs = Annotated[JobService, Depends(get_jobs)]
