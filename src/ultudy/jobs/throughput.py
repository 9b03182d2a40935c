"""Each queue's finished jobs per minute, from BullMQ's own metrics.

A worker started with BullMQ's `metrics` option (`METRICS_HISTORY_MIN`) has BullMQ's
finishing script count every completed or failed job in the same call that moves the
job, so the history costs no round trip of its own; Bull Board reads the same keys.

BullMQ keeps per queue and outcome a hash `{prefix}:{queue}:metrics:{outcome}` with the
running `count`, the time `prevTS` of the last minute it closed and the `prevCount` then,
and a list `…:data` of closed minutes, newest first: the minute before `prevTS`'s is at
index 0. Minutes are closed only by the next job to finish, so the minutes after
`prevTS`'s had no jobs, and `prevTS`'s own minute holds `count - prevCount`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

MINUTE_MS = 60_000
OUTCOMES = ("completed", "failed")


@dataclass(frozen=True, kw_only=True)
class MetricsState:
    count: int
    prev_ts_ms: int | None
    prev_count: int
    closed: list[int]  # closed minutes' counts, newest first


def per_minute(state: MetricsState, *, now_ms: int, minutes: int) -> list[int]:
    """Jobs finished in each of the last `minutes` minutes, oldest first; the current
    minute, still running, is the last."""
    if state.prev_ts_ms is None:
        return [0] * minutes
    now_min = now_ms // MINUTE_MS
    open_min = state.prev_ts_ms // MINUTE_MS
    counts: list[int] = []
    for minute in range(now_min - minutes + 1, now_min + 1):
        if minute > open_min:
            counts.append(0)
        elif minute == open_min:
            counts.append(state.count - state.prev_count)
        else:
            index = open_min - 1 - minute
            counts.append(state.closed[index] if index < len(state.closed) else 0)
    return counts


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


async def history(
    redis: Redis, prefix: str, queue_names: tuple[str, ...], *, now_ms: int, minutes: int
) -> dict[str, dict[str, list[int]]]:
    """queue -> outcome -> per-minute counts (oldest first), in one round trip."""
    pipe = redis.pipeline(transaction=False)
    pairs = [(queue, outcome) for queue in queue_names for outcome in OUTCOMES]
    for queue, outcome in pairs:
        key = f"{prefix}:{queue}:metrics:{outcome}"
        pipe.hmget(key, ["count", "prevTS", "prevCount"])
        pipe.lrange(f"{key}:data", 0, minutes)
    replies = await pipe.execute()
    result: dict[str, dict[str, list[int]]] = {queue: {} for queue in queue_names}
    for n, (queue, outcome) in enumerate(pairs):
        count, prev_ts, prev_count = replies[2 * n]
        state = MetricsState(
            count=_int(count) or 0,
            prev_ts_ms=_int(prev_ts),
            prev_count=_int(prev_count) or 0,
            closed=[int(v) for v in replies[2 * n + 1]],
        )
        result[queue][outcome] = per_minute(state, now_ms=now_ms, minutes=minutes)
    return result


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of values sorted ascending; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]
