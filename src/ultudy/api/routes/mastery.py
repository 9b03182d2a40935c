"""Per-concept mastery of the caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ultudy.api.deps import Caller, State
from ultudy.api.schemas.check_ins import MasteryList
from ultudy.db.study import list_mastery

router = APIRouter(tags=["mastery"])


@router.get(
    "/mastery",
    response_model=MasteryList,
    summary="The caller's mastery per concept (Bayesian Knowledge Tracing)",
)
async def mastery(state: State, caller: Caller) -> dict[str, Any]:
    async with state.db.transaction(caller.user_id) as conn:
        return {"mastery": await list_mastery(conn, caller.user_id)}
