"""A processor for the push-latency bench: progress updates carrying their own send time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ultudy.jobs.context import JobContext, Registry
from ultudy.kinds import JobType

UPDATES = 50
GAP_S = 0.02


async def chatty(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    for n in range(1, UPDATES + 1):
        await asyncio.sleep(GAP_S)
        await ctx.progress(n * 100 / UPDATES, f"{time.time():.6f}")
    return {"updates": UPDATES}


REGISTRY: Registry = dict.fromkeys(JobType, chatty)
