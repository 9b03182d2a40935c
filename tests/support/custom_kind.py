"""A fourth job kind, registered from the test suite (no change to the framework): the
study kinds with the scripted test processors, plus `echo_upper` on queue `echo-upper`.
Selected with ULTUDY_PROCESSORS=tests.support.custom_kind:KINDS."""

from __future__ import annotations

from typing import Any

from tests.support.processors import scripted
from ultudy.errors import JobInputError
from ultudy.jobs.context import JobContext
from ultudy.jobs.types import JobKind, JobKinds
from ultudy.kinds import JobType

ECHO_UPPER = "echo_upper"
ECHO_UPPER_QUEUE = "echo-upper"


async def echo_upper(ctx: JobContext[Any], data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data.get("text"), str):
        raise JobInputError("text must be a string")
    await ctx.progress(50, "shouting")
    return {"text": data["text"].upper(), "pid_attempt": ctx.attempt}


KINDS = JobKinds(
    [
        *(JobKind(name=t, queue=t.queue_name, processor=scripted, concurrency=2) for t in JobType),
        JobKind(name=ECHO_UPPER, queue=ECHO_UPPER_QUEUE, processor=echo_upper, concurrency=3),
    ]
)
