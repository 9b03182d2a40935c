"""Reading an uploaded PDF in a child process, one per reading, under `PdfLimits`.

PDFium runs hostile input in C, is not thread-safe, and cannot be interrupted, so the
app never calls it in its own process: each reading is a fresh `python -m
ultudy.study.pdf.child` with its address space and CPU time capped by the kernel
(`setrlimit`) and a wall-clock deadline kept here, where the child is killed when it
passes. No lock is shared, so one job's hostile file does not slow another's reading.

Not `multiprocessing`: both its `spawn` and `forkserver` children first import the
parent's `__main__` (for the `ultudy` console script that is the whole app, 0.3 s of CPU
and 400 MB of address space a child); a plain interpreter imports only what it reads
with. The child answers in JSON lines (plain data), never pickles.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ultudy.errors import PdfError, PdfLimitError
from ultudy.study.pdf.limits import PdfLimits
from ultudy.study.pdf.model import ExtractedDocument, Section

logger = logging.getLogger(__name__)

CHILD_MODULE = "ultudy.study.pdf.child"
POLL_S = 0.2  # how often `check` runs while the child is busy on one page
READ_CHUNK_BYTES = 1 << 16
EXIT_WAIT_S = 5.0  # for a child that closed its output to be reaped


class IsolatedPdfReader:
    """One upload's PDF, read in child processes. Its calls share `limits.time_limit_s`:
    the budget is the job's, however many pages it then renders for a vision model."""

    def __init__(self, path: str | Path, limits: PdfLimits) -> None:
        self._path = str(path)
        self._limits = limits
        self._spent_s = 0.0

    def extract(
        self,
        *,
        on_page: Callable[[int, int], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> ExtractedDocument:
        """As `pdf.extract_pdf`; `check()` runs every POLL_S and may raise to stop."""
        reply = self._run({"op": "extract"}, on_page, check)
        return document_from_dict(reply["document"])

    def render_png(self, page: int, *, check: Callable[[], None] | None = None) -> bytes:
        """As `pdf.render_page_png`, scaled down to `limits.max_render_pixels`."""
        reply = self._run({"op": "render", "page": page}, None, check)
        return base64.b64decode(reply["png"])

    def _run(
        self,
        task: dict[str, Any],
        on_page: Callable[[int, int], None] | None,
        check: Callable[[], None] | None,
    ) -> dict[str, Any]:
        left_s = self._limits.time_limit_s - self._spent_s
        if left_s <= 0:
            raise self._limits.time_error()
        started = time.monotonic()
        limits = dataclasses.asdict(self._limits)
        child = _Child(
            {**task, "path": self._path, "cpu_s": left_s, "limits": limits}, self._limits
        )
        try:
            return _reply(self._limits, child.run(left_s, on_page, check))
        finally:
            child.close()
            self._spent_s += time.monotonic() - started


def document_from_dict(data: dict[str, Any]) -> ExtractedDocument:
    sections = [Section(**section) for section in data["sections"]]
    return ExtractedDocument(**{**data, "sections": sections})


def _reply(limits: PdfLimits, message: dict[str, Any]) -> dict[str, Any]:
    """The child's final message, or the exception it stands for."""
    kind = message.get("error")
    if kind is None:
        return message
    if kind == "limit":
        raise PdfLimitError(message["message"])
    if kind == "pdf":
        raise PdfError(message["message"])
    if kind == "missing":
        raise FileNotFoundError(message["message"])
    if kind == "memory":
        raise limits.memory_error()
    raise RuntimeError(f"the PDF reader answered an unknown error {kind!r}")


class _Child:
    """One child process and the JSON lines it writes."""

    def __init__(self, task: dict[str, Any], limits: PdfLimits) -> None:
        self._limits = limits
        self._proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._buffer = bytearray()
        self._timed_out = False
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(task).encode())
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; run() finds out why

    def run(
        self,
        time_limit_s: float,
        on_page: Callable[[int, int], None] | None,
        check: Callable[[], None] | None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + time_limit_s
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                for message in self._messages():
                    if "page" not in message:
                        return message
                    if on_page is not None:
                        on_page(*message["page"])
                left_s = deadline - time.monotonic()
                if left_s <= 0:
                    self._timed_out = True
                    raise self._limits.time_error()
                if selector.select(min(left_s, POLL_S)) and not self._read(fd):
                    raise self._died()
                if check is not None:
                    check()

    def _read(self, fd: int) -> bool:
        """False at end of output."""
        chunk = os.read(fd, READ_CHUNK_BYTES)
        self._buffer += chunk
        return bool(chunk)

    def _messages(self) -> list[dict[str, Any]]:
        lines = self._buffer.split(b"\n")
        self._buffer = bytearray(lines.pop())
        return [json.loads(line) for line in lines]

    def _died(self) -> Exception:
        """Why the child stopped without a final message."""
        code = self._proc.wait(timeout=EXIT_WAIT_S)
        if code == -signal.SIGXCPU:
            return self._limits.time_error()
        if code < 0:
            # pdfium aborts when an allocation fails (the address-space cap), and a file
            # that crashes it would crash it again: either way the file's, not retried.
            logger.warning("the PDF reader was stopped by signal %d", -code)
            return self._limits.memory_error()
        return RuntimeError(f"the PDF reader exited with status {code} (see its stderr)")

    def close(self) -> None:
        if self._proc.poll() is None:
            if self._timed_out:
                logger.info("the PDF reader passed its deadline; killing it")
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
