"""FastAPI dependencies as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from ultudy.api.auth import AuthError, Identity, identify
from ultudy.api.state import AppState
from ultudy.jobs.service import JobService


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ultudy
    return state


State = Annotated[AppState, Depends(get_state)]


def get_identity(
    state: State,
    x_user_id: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Identity:
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
