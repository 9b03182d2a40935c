"""Processors for testing the job framework itself (selected with ULTUDY_PROCESSORS).

Input knobs: `steps` progress updates `sleep_ms` apart; `fail: "input"` raises an expected
error; `crash_until_attempt: N` raises an unexpected error on attempts 1..N; `done_file`
gets one line per completed run (to count executions across processes).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from ultudy.errors import JobInputError
from ultudy.jobs.context import JobContext, Registry
from ultudy.jobs.states import JobType


async def scripted(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    if data.get("fail") == "input":
        raise JobInputError("The input says no.")
    if ctx.attempt <= int(data.get("crash_until_attempt", 0)):
        raise RuntimeError(f"boom on attempt {ctx.attempt}")
    steps = int(data.get("steps", 1))
    for step in range(1, steps + 1):
        await asyncio.sleep(int(data.get("sleep_ms", 0)) / 1000)
        await ctx.progress(step * 100 / steps, f"step {step} of {steps}")
    if "done_file" in data:
        with open(data["done_file"], "a") as fh:
            fh.write(f"{ctx.job_id} {os.getpid()}\n")
    if data.get("unstorable"):
        return {"ids": {1, 2}}  # a set: not JSON
    return {"echo": data.get("echo"), "steps": steps, "attempt": ctx.attempt}


REGISTRY: Registry = dict.fromkeys(JobType, scripted)
