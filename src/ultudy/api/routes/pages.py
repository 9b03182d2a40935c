"""The web UI: server-rendered shells (Jinja2) that ES modules fill from the JSON API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ultudy.api.authn import identity_in
from ultudy.api.deps import State

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB / "static"
templates = Jinja2Templates(directory=WEB / "templates")
router = APIRouter(include_in_schema=False)


def _page(request: Request, state: Any, name: str, **context: Any) -> Response:
    who = identity_in(request.scope)
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    return templates.TemplateResponse(
        request,
        f"{name}.html",
        {
            "user": who,
            "poll_ms": state.settings.poll_interval_ms,
            "page": name,
            **context,
        },
    )


@router.get("/", response_class=HTMLResponse)
async def library(request: Request, state: State) -> Response:
    return _page(request, state, "library")


@router.get("/documents/{document_id}/view", response_class=HTMLResponse)
async def document(document_id: uuid.UUID, request: Request, state: State) -> Response:
    return _page(request, state, "document", document_id=str(document_id))


@router.get("/lessons/{lesson_id}/view", response_class=HTMLResponse)
async def lesson(lesson_id: uuid.UUID, request: Request, state: State) -> Response:
    return _page(request, state, "lesson", lesson_id=str(lesson_id))


@router.get("/jobs-view", response_class=HTMLResponse)
async def jobs(request: Request, state: State) -> Response:
    return _page(request, state, "jobs")


@router.get("/settings-view", response_class=HTMLResponse)
async def settings(request: Request, state: State) -> Response:
    return _page(request, state, "settings")


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, state: State) -> Response:
    return _page(request, state, "admin")


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request, state: State) -> Response:
    return templates.TemplateResponse(
        request,
        "signin.html",
        {
            "user": None,
            "auth": state.settings.auth.value,
            "page": "signin",
            "poll_ms": state.settings.poll_interval_ms,
        },
    )
