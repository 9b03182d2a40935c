"""The taskiq broker and no-op task for bench/peers (taskiq-redis streams, acked after
the result is saved in Redis, as SAQ, arq and bullmq keep theirs)."""

from __future__ import annotations

import os

from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench.peers.runner import STREAM

URL = os.environ["PEERS_REDIS_URL"]
broker = RedisStreamBroker(URL, queue_name=STREAM, consumer_group_name="peers").with_result_backend(
    RedisAsyncResultBackend(URL)
)


@broker.task(task_name="noop")
async def noop() -> None:
    return None
