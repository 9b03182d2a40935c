"""The `check_in_reminder` job (meant for a schedule, e.g. every evening): the concepts
whose mastery dropped in the owner's check-ins of the last `since_hours`, as a list the
result carries and the notification email names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ultudy.db.models import check_ins
from ultudy.db.types import utcnow
from ultudy.services import StudyContext

DEFAULT_SINCE_HOURS = 24
MIN_DROP = 0.0001


async def process(ctx: StudyContext, data: dict[str, Any]) -> dict[str, Any]:
    since = utcnow() - timedelta(hours=float(data.get("since_hours", DEFAULT_SINCE_HOURS)))
    query = (
        select(check_ins.c.mastery)
        .where(check_ins.c.owner_id == ctx.owner_id, check_ins.c.created_at >= since)
        .order_by(check_ins.c.created_at)
    )
    async with ctx.services.db.transaction(ctx.owner_id) as conn:
        moves = [m for (mastery,) in await conn.execute(query) for m in mastery or []]
    return {"since_hours": data.get("since_hours", DEFAULT_SINCE_HOURS), "concepts": dropped(moves)}


def dropped(moves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Concepts whose mastery is lower after the period than before it (first `before`,
    last `after` of each), most dropped first."""
    first: dict[str, dict[str, Any]] = {}
    last: dict[str, float] = {}
    for move in moves:
        first.setdefault(move["concept_id"], move)
        last[move["concept_id"]] = float(move["after"])
    found = [
        {
            "id": cid,
            "name": move["name"],
            "before": move["before"],
            "after": last[cid],
        }
        for cid, move in first.items()
        if float(move["before"]) - last[cid] >= MIN_DROP
    ]
    return sorted(found, key=lambda c: float(c["after"]) - float(c["before"]))
