"""No-op processors for the benchmarks: one progress update, then done."""

from __future__ import annotations

import time
from typing import Any

from ultudy.jobs.context import JobContext, Registry
from ultudy.kinds import JobType


async def noop(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    started = time.time()
    await ctx.progress(50, "halfway")
    return {"started_at": started, "enqueued_at": ctx.enqueued_at}


REGISTRY: Registry = dict.fromkeys(JobType, noop)
