"""The child process that reads one PDF for `isolated` (run as `python -m`).

It caps its own address space and CPU time before it touches the file, reads the task
(JSON) from stdin and answers with JSON lines on stdout: `{"page": [done, total]}` per
page, then one final line, `{"document": ...}`, `{"png": base64}` or `{"error": kind,
"message": ...}`. An unexpected exception leaves a traceback on stderr and exit status 1.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
import resource
import sys
from typing import Any, TextIO

from ultudy.errors import PdfError, PdfLimitError
from ultudy.study.pdf.limits import PdfLimits
from ultudy.study.pdf.reader import extract_pdf, render_page_png

CPU_GRACE_S = 5  # between SIGXCPU (the soft limit) and SIGKILL (the hard one)
MEMORY_REPLY = {"error": "memory", "message": ""}


def main() -> None:
    # The protocol gets stdout to itself; anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    task = json.loads(sys.stdin.read())
    limits = PdfLimits(**task["limits"])
    _limit_resources(memory_mb=limits.memory_limit_mb, cpu_s=task["cpu_s"])
    try:
        reply = json.dumps(_answer(task, limits, out))
    except MemoryError:  # reading, or writing the answer out
        reply = json.dumps(MEMORY_REPLY)
    out.write(reply + "\n")
    out.flush()


def _limit_resources(*, memory_mb: int, cpu_s: float) -> None:
    """The kernel enforces these even if this process hangs in C code; the parent's
    wall-clock deadline comes first, the CPU limit is the backstop if the parent is gone."""
    memory_bytes = memory_mb * 1024 * 1024
    _lower(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    cpu = math.ceil(cpu_s) + 1
    _lower(resource.RLIMIT_CPU, cpu, cpu + CPU_GRACE_S)
    _lower(resource.RLIMIT_CORE, 0, 0)  # SIGXCPU would otherwise dump core


def _lower(which: int, soft: int, hard: int) -> None:
    _, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))


def _answer(task: dict[str, Any], limits: PdfLimits, out: TextIO) -> dict[str, Any]:
    try:
        if task["op"] == "render":
            png = render_page_png(task["path"], task["page"], limits=limits)
            return {"png": base64.b64encode(png).decode("ascii")}
        doc = extract_pdf(
            task["path"],
            limits=limits,
            on_page=lambda done, total: _send(out, {"page": [done, total]}),
        )
        return {"document": dataclasses.asdict(doc)}
    except PdfLimitError as exc:
        return {"error": "limit", "message": exc.message}
    except PdfError as exc:
        return {"error": "pdf", "message": exc.message}
    except FileNotFoundError as exc:
        return {"error": "missing", "message": str(exc)}


def _send(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
