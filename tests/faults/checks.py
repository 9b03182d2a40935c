"""What the fault tests read back and report: rows, effects, counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ultudy.api.state import AppState
from ultudy.db.models import documents
from ultudy.jobs.states import TERMINAL


async def table(state: AppState, query: Any) -> list[Any]:
    async with state.db.transaction(None) as conn:
        return list(await conn.execute(query))


async def effects(state: AppState) -> dict[Any, list[str]]:
    """job id -> the effects (documents, tests.support.effects) it left."""
    found: dict[Any, list[str]] = {}
    for job_id, doc_id in await table(state, select(documents.c.job_id, documents.c.id)):
        found.setdefault(job_id, []).append(str(doc_id))
    return found


async def counts(state: AppState) -> dict[str, int]:
    return await state.jobs.store.count_by_status()


def terminal(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status in TERMINAL)


def report(test: str, **counts: object) -> None:
    """One line in the test's output (`pytest -rP` or `-s` shows it)."""
    fields = " ".join(f"{k}={v}" for k, v in counts.items())
    print(f"FAULTS {test}: {fields}")  # noqa: T201 - the test log is where these figures go
