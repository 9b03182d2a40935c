"""Logging set-up: one line per record, with the job id when there is one."""

from __future__ import annotations

import logging
from contextvars import ContextVar

current_job_id: ContextVar[str] = ContextVar("current_job_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s job=%(job_id)s %(message)s"


class JobIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = current_job_id.get()
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(JobIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
