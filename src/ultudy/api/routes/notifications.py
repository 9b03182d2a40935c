"""Email notifications: the caller's settings, the admin's view of failed sends, and the
dev outbox (what would have been mailed, when no SMTP server is configured)."""

from __future__ import annotations

import asyncio
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, PlainTextResponse

from ultudy.api.deps import Admin, Caller, State
from ultudy.api.routes.pages import templates
from ultudy.api.schemas.errors import errors
from ultudy.api.schemas.schedules import (
    FailedNotification,
    FailedNotifications,
    NotificationSettingsIn,
    NotificationSettingsOut,
)
from ultudy.db.notifications import failed_notifications, get_settings, put_settings
from ultudy.notify.transport import outbox_dir

router = APIRouter(tags=["notifications"])
pages = APIRouter(include_in_schema=False)
OUTBOX_SHOWN = 50
EML_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")


@router.get(
    "/me/notifications",
    response_model=NotificationSettingsOut,
    summary="The caller's email notification settings",
)
async def read_settings(state: State, caller: Caller) -> NotificationSettingsOut:
    async with state.db.transaction(caller.user_id) as conn:
        found = await get_settings(conn, caller.user_id)
    return NotificationSettingsOut(
        email=found.email if found else None,
        enabled=bool(found and found.enabled),
        notify_after_s=state.settings.notify_after_s,
    )


@router.put(
    "/me/notifications",
    response_model=NotificationSettingsOut,
    summary="Set the email address and opt in or out",
)
async def write_settings(
    body: NotificationSettingsIn, state: State, caller: Caller
) -> NotificationSettingsOut:
    if body.enabled and not body.email:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "an email address is needed to opt in"
        )
    async with state.db.transaction(caller.user_id) as conn:
        saved = await put_settings(conn, caller.user_id, email=body.email, enabled=body.enabled)
    return NotificationSettingsOut(
        email=saved.email, enabled=saved.enabled, notify_after_s=state.settings.notify_after_s
    )


@router.get(
    "/admin/api/notifications/failed",
    response_model=FailedNotifications,
    responses=errors(403),
    tags=["admin"],
    summary="Emails the mail server has not taken (given up, or being retried)",
)
async def failed(state: State, _admin: Admin) -> FailedNotifications:
    async with state.db.transaction(None) as conn:
        rows = await failed_notifications(conn)
    return FailedNotifications(
        notifications=[FailedNotification.model_validate(dict(r._mapping)) for r in rows]
    )


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as file:
        message: EmailMessage = BytesParser(policy=policy.default).parse(file)
    return message


def _outbox(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        return []
    names = sorted((p for p in directory.iterdir() if EML_NAME.match(p.name)), reverse=True)
    shown = []
    for path in names[:OUTBOX_SHOWN]:
        message = _read(path)
        body = message.get_body(preferencelist=("plain",))
        shown.append(
            {
                "name": path.name,
                "subject": str(message["Subject"]),
                "to": str(message["To"]),
                "date": str(message["Date"]),
                "text": body.get_content() if body is not None else "",
            }
        )
    return shown


@pages.get("/outbox", response_class=HTMLResponse)
async def outbox(request: Request, state: State, caller: Admin) -> Response:
    """Dev page: the emails that went to the outbox (no SMTP server configured)."""
    mails = await asyncio.to_thread(_outbox, outbox_dir(state.settings))
    return templates.TemplateResponse(
        request,
        "outbox.html",
        {
            "user": caller,
            "poll_ms": state.settings.poll_interval_ms,
            "page": "outbox",
            "mails": mails,
            "smtp": bool(state.settings.smtp_url),
        },
    )


@pages.get("/outbox/{name}", response_class=PlainTextResponse)
async def outbox_message(name: str, state: State, _admin: Admin) -> Response:
    path = outbox_dir(state.settings) / name
    if not EML_NAME.match(name) or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in the outbox")
    return PlainTextResponse(await asyncio.to_thread(path.read_text, "utf-8", "replace"))
