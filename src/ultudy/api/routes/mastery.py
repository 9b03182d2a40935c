"""Per-concept mastery of the caller."""

from __future__ import annotations

from fastapi import APIRouter

from ultudy.api.deps import Caller, State
from ultudy.api.schemas.check_ins import MasteryList, MasteryOut
from ultudy.db.check_ins import list_mastery

router = APIRouter(tags=["mastery"])


@router.get(
    "/mastery",
    response_model=MasteryList,
    summary="The caller's mastery per concept (Bayesian Knowledge Tracing)",
)
async def mastery(state: State, caller: Caller) -> MasteryList:
    async with state.db.transaction(caller.user_id) as conn:
        rows = await list_mastery(conn, caller.user_id)
    return MasteryList(mastery=[MasteryOut.of(row) for row in rows])
