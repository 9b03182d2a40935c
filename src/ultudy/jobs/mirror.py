"""What BullMQ's own tools (Bull Board, node bullmq, Taskforce) read of our jobs.

The SQL row is the truth; the BullMQ job mirrors it so those tools show the same:
progress (throttled as the row's writes, and 100 once the row says completed), a summary
of the result as `returnvalue`, the job's log lines (`job.log`), and the worker's
connections named as node bullmq names them, so `getWorkers()` finds them. The writes ride
in the worker's batched event script (jobs.events); nothing here talks to Redis itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

from ultudy.jobs.events import EventLog
from ultudy.logs import current_job_id

# a result whose JSON is longer than this is summarised (its scalars, the sizes of the rest)
RETURNVALUE_MAX_CHARS = 2048
SUMMARY_TEXT_CHARS = 200
EVENTS_LOGGER = "ultudy.jobs.events"


def node_client_name(prefix: str, queue: str, worker_name: str | None = None) -> str:
    """The Redis client name node bullmq gives a worker's blocking connection and looks
    for in `getWorkers()`: `<prefix>:<base64(queue)>[:w:<name>]`. (bullmq-python names
    both connections `<prefix>:<queue>…`, which node's tools do not recognise.)"""
    encoded = base64.b64encode(queue.encode()).decode()
    return f"{prefix}:{encoded}" + (f":w:{worker_name}" if worker_name else "")


def result_summary(
    status: str, result: dict[str, Any] | None, chars: int | None = None
) -> dict[str, Any]:
    """BullMQ's `returnvalue` for a job: its status and its result, whole when small
    (`chars`: the length of the result's JSON, when the caller has it already)."""
    if result is None:
        return {"status": status}
    if chars is None:
        chars = len(json.dumps(result, separators=(",", ":"), default=str))
    if chars <= RETURNVALUE_MAX_CHARS:
        return {"status": status, "result": result}
    return {"status": status, "result": _shrunk(result), "truncated": True}


def _shrunk(result: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key, value in result.items():
        if value is None or isinstance(value, bool | int | float):
            summary[key] = value
        elif isinstance(value, str):
            summary[key] = value[:SUMMARY_TEXT_CHARS]
        elif isinstance(value, list | dict):
            summary[key] = f"<{len(value)} {'items' if isinstance(value, list) else 'keys'}>"
    return summary


class JobLogHandler(logging.Handler):
    """Copies the log lines of a running job (the records logged while its id is the
    current one: the processor's and ours) to its BullMQ job's log."""

    def __init__(self, events: EventLog, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.events = events
        self.running: dict[str, str] = {}  # job id -> its queue, while it runs here
        self.loop = asyncio.get_running_loop()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == EVENTS_LOGGER:  # its own failures: no loop through a lost broker
            return
        job_id = current_job_id.get()
        queue = self.running.get(job_id)
        if queue is None:
            return
        try:
            line = self.format(record)
        except Exception:  # a bad format argument: logging's own convention
            self.handleError(record)
            return
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self.events.mirror_log(queue, job_id, line)
        else:  # a processor's thread (asyncio.to_thread)
            self.loop.call_soon_threadsafe(self.events.mirror_log, queue, job_id, line)
