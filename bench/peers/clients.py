"""Queue N no-op jobs and tell when a peer's queue is drained (bench/peers)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bench.peers.runner import ARQ_QUEUE, QUEUE, STREAM

BATCH = 50  # concurrent enqueues (arq's pool allows few connections)


async def in_batches(n: int, enqueue: Any) -> None:
    for start in range(0, n, BATCH):
        await asyncio.gather(*[enqueue() for _ in range(min(BATCH, n - start))])


async def queue_saq(url: str, n: int) -> None:
    from saq import Queue

    queue = Queue.from_url(url, name=QUEUE)
    await in_batches(n, lambda: queue.enqueue("noop"))
    await queue.disconnect()


async def drained_saq(url: str) -> bool:
    from saq import Queue

    queue = Queue.from_url(url, name=QUEUE)
    left = await queue.count("incomplete")
    await queue.disconnect()
    return left == 0


async def queue_arq(url: str, n: int) -> None:
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(url))
    await in_batches(n, lambda: pool.enqueue_job("noop", _queue_name=ARQ_QUEUE))
    await pool.aclose()


async def drained_arq(url: str) -> bool:
    redis = Redis.from_url(url)
    left = await redis.zcard(ARQ_QUEUE)  # arq removes a job from its queue when it is done
    await redis.aclose()
    return int(left) == 0


async def queue_taskiq(url: str, n: int) -> None:
    from bench.peers.taskiq_app import broker, noop

    await broker.startup()
    await in_batches(n, noop.kiq)
    await broker.shutdown()


async def drained_taskiq(url: str) -> bool:
    redis = Redis.from_url(url)
    groups = await redis.xinfo_groups(STREAM)
    await redis.aclose()
    return all(g["pending"] == 0 and g["lag"] == 0 for g in groups)


QUEUERS = {"saq": queue_saq, "arq": queue_arq, "taskiq": queue_taskiq}
DRAINED = {"saq": drained_saq, "arq": drained_arq, "taskiq": drained_taskiq}
