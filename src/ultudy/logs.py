"""Logging set-up: one line per record, plain text or JSON (`ULTUDY_LOG_FORMAT=json`, through
python-json-logger), each with the job id and the request id of the work in hand."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from enum import StrEnum

current_job_id: ContextVar[str] = ContextVar("current_job_id", default="-")
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(process)d %(name)s job=%(job_id)s req=%(request_id)s %(message)s"
)
# python-json-logger reads the field names from a format string; `extra=` keys are added.
JSON_FIELDS = "%(asctime)s %(levelname)s %(process)d %(name)s %(job_id)s %(request_id)s %(message)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# A request id we take from a client: short, printable, nothing a log reader could trip on.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = current_job_id.get()
        record.request_id = current_request_id.get()
        return True


def _formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt is LogFormat.JSON:
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES)
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str = "INFO", fmt: LogFormat | str = LogFormat.TEXT) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(LogFormat(fmt)))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers go through ours (its default config gives them their own
    # handlers, which would print plain text in JSON mode).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
