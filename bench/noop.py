"""No-op processors for the benchmarks: one progress update, then done (`BARE`: done at
once, for bench/peers, as the peers' jobs are)."""

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


async def bare(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    return {}  # a processor returns a dict; ours stores it


BARE: Registry = dict.fromkeys(JobType, bare)
