"""The web UI: server-rendered shells (Jinja2) that ES modules fill from the JSON API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ultudy.api.auth import AuthError, Identity, identify
from ultudy.api.deps import SESSION_COOKIE, State
from ultudy.config import AuthMode

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB / "static"
templates = Jinja2Templates(directory=WEB / "templates")
router = APIRouter(include_in_schema=False)
Session = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


def _who(state: Any, session: str | None) -> Identity | None:
    if not session:
        return None
    dev = state.settings.auth is AuthMode.DEV
    try:
        return identify(state.settings, user_header=session if dev else None,
                        authorization=None if dev else f"Bearer {session}")  # fmt: skip
    except AuthError:
        return None


def _page(request: Request, state: Any, session: str | None, name: str, **context: Any) -> Response:
    who = _who(state, session)
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    return templates.TemplateResponse(request, f"{name}.html", {
        "user": who, "poll_ms": state.settings.poll_interval_ms, "page": name, **context,
    })  # fmt: skip


@router.get("/", response_class=HTMLResponse)
async def library(request: Request, state: State, session: Session = None) -> Response:
    return _page(request, state, session, "library")


@router.get("/documents/{document_id}/view", response_class=HTMLResponse)
async def document(
    document_id: uuid.UUID, request: Request, state: State, session: Session = None
) -> Response:
    return _page(request, state, session, "document", document_id=str(document_id))


@router.get("/lessons/{lesson_id}/view", response_class=HTMLResponse)
async def lesson(
    lesson_id: uuid.UUID, request: Request, state: State, session: Session = None
) -> Response:
    return _page(request, state, session, "lesson", lesson_id=str(lesson_id))


@router.get("/jobs-view", response_class=HTMLResponse)
async def jobs(request: Request, state: State, session: Session = None) -> Response:
    return _page(request, state, session, "jobs")


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, state: State, session: Session = None) -> Response:
    return _page(request, state, session, "admin")


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request, state: State) -> Response:
    return templates.TemplateResponse(request, "signin.html", {
        "user": None, "auth": state.settings.auth.value, "page": "signin",
        "poll_ms": state.settings.poll_interval_ms,
    })  # fmt: skip
