"""One email for the jobs of a digest: a text part and an HTML part, each job with what
happened, its error in plain words and a link to what it made (or to the job)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

LABELS = {
    "material_upload": "Your PDF upload",
    "lesson_generation": "Your lesson",
    "check_in_evaluation": "Your check-in",
    "check_in_reminder": "Your check-in reminder",
}


@dataclass(frozen=True, kw_only=True)
class Line:
    job_id: str
    what: str  # "Your lesson"
    outcome: str  # "is ready" / "failed"
    detail: str | None  # the error, or what a reminder found
    link: str
    failed: bool


def line_for(row: Any, base_url: str) -> Line:
    """One job of the digest, from its `jobs` row."""
    result: dict[str, Any] = row.result_data or {}
    failed = row.status != "completed"
    title = result.get("title")
    what = LABELS.get(row.type, f"Your {row.type.replace('_', ' ')} job")
    if title:
        what = f"{what} “{title}”"
    detail = row.error_message if failed else None
    concepts = result.get("concepts") if row.type == "check_in_reminder" else None
    if concepts:
        names = ", ".join(str(c.get("name")) for c in concepts[:10])
        detail = f"Mastery dropped on {len(concepts)} concept(s): {names}. Time for a check-in."
    return Line(
        job_id=str(row.id),
        what=what,
        outcome="failed" if failed else "is ready",
        detail=detail,
        link=base_url + _path(row, result),
        failed=failed,
    )


def _path(row: Any, result: dict[str, Any]) -> str:
    if result.get("lesson_id"):
        return f"/lessons/{result['lesson_id']}/view"
    document_id = result.get("document_id") or (row.input_data or {}).get("document_id")
    if document_id:
        return f"/documents/{document_id}/view"
    return f"/jobs-view?job={row.id}"


def subject_for(lines: list[Line]) -> str:
    if len(lines) == 1:
        return f"{lines[0].what} {lines[0].outcome}"
    failed = sum(line.failed for line in lines)
    tail = f" ({failed} failed)" if failed else ""
    return f"{len(lines)} of your Ultudy jobs finished{tail}"


def compose(lines: list[Line], *, to: str, sender: str, digest_id: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject_for(lines)
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=digest_id, domain="ultudy.local")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Ultudy-Jobs"] = " ".join(line.job_id for line in lines)
    message.set_content(_text(lines))
    message.add_alternative(_html(lines), subtype="html")
    return message


def _text(lines: list[Line]) -> str:
    parts = ["Hello,", ""]
    for line in lines:
        parts.append(f"* {line.what} {line.outcome}.")
        if line.detail:
            parts.append(f"  {line.detail}")
        parts.append(f"  {line.link}")
        parts.append("")
    parts.append("You get this email because you turned on notifications in Ultudy.")
    return "\n".join(parts) + "\n"


def _html(lines: list[Line]) -> str:
    items = []
    for line in lines:
        detail = f"<br>{html.escape(line.detail)}" if line.detail else ""
        color = "#b42318" if line.failed else "#067647"
        items.append(
            f'<li><strong>{html.escape(line.what)}</strong> <span style="color:{color}">'
            f"{line.outcome}</span>.{detail}<br>"
            f'<a href="{html.escape(line.link, quote=True)}">Open in Ultudy</a></li>'
        )
    return (
        "<!doctype html><html><body><p>Hello,</p><ul>"
        + "".join(items)
        + "</ul><p>You get this email because you turned on notifications in Ultudy.</p>"
        "</body></html>\n"
    )
