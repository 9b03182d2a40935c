"""Is a dependency reachable? One timed check, shared by the health report, `/readyz` and
`ultudy check`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, kw_only=True)
class Probe:
    reachable: bool
    rtt_ms: float | None = None
    error: str | None = None


async def probe(check: Awaitable[Any], *, timeout_s: float = PROBE_TIMEOUT_S) -> Probe:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check, timeout_s)
    except Exception as exc:
        return Probe(reachable=False, error=f"{type(exc).__name__}: {exc}"[:200])
    return Probe(reachable=True, rtt_ms=round((time.perf_counter() - start) * 1000, 2))
