"""Processors for testing the job framework itself (selected with ULTUDY_PROCESSORS).

Input knobs: `log` a line the processor logs (INFO) first; `steps` progress updates
`sleep_ms` apart; `fail: "input"` raises an expected
error; `crash_until_attempt: N` raises an unexpected error on attempts 1..N; `done_file`
gets one line per completed run (to count executions across processes); `effect: true`
writes the job's effect keyed by its id halfway through (tests.support.effects), after a
line in `runs_file` (every run that reached it), and returns the standing effect's token;
`hold_write_s` holds a SQL write transaction open that long after the steps, on the first
attempt, after a line in `runs_file` once it is open (a processor stopped mid-transaction
by a worker's shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from tests.support.effects import held_write, keyed_effect
from ultudy.errors import JobInputError
from ultudy.jobs.context import JobContext, Registry
from ultudy.kinds import JobType

logger = logging.getLogger(__name__)


async def scripted(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    if "log" in data:
        logger.info("%s", data["log"])
    if data.get("fail") == "input":
        raise JobInputError("The input says no.")
    if ctx.attempt <= int(data.get("crash_until_attempt", 0)):
        raise RuntimeError(f"boom on attempt {ctx.attempt}")
    steps = int(data.get("steps", 1))
    effect = None
    for step in range(1, steps + 1):
        await asyncio.sleep(int(data.get("sleep_ms", 0)) / 1000)
        await ctx.progress(step * 100 / steps, f"step {step} of {steps}")
        if data.get("effect") and step == (steps + 1) // 2:
            effect = await _run_effect(ctx, data)
    if data.get("hold_write_s") and ctx.attempt == 1:
        await held_write(ctx, float(data["hold_write_s"]), data.get("runs_file"))
    if "done_file" in data:
        with open(data["done_file"], "a") as fh:
            fh.write(f"{ctx.job_id} {os.getpid()}\n")
    if data.get("unstorable"):
        return {"ids": {1, 2}}  # a set: not JSON
    result = {"echo": data.get("echo"), "steps": steps, "attempt": ctx.attempt}
    return result if effect is None else {**result, "effect": effect}


async def _run_effect(ctx: JobContext, data: dict[str, Any]) -> str:
    if "runs_file" in data:
        with open(data["runs_file"], "a") as fh:
            fh.write(f"{ctx.job_id} {os.getpid()}\n")
    return await keyed_effect(ctx)


REGISTRY: Registry = dict.fromkeys(JobType, scripted)
