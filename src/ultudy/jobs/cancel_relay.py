"""The cancel relay: a user's cancel, published on the broker, reaches the BullMQ worker
of this process that runs the job (its processor sees the signal)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError

from ultudy.jobs.queue import JobQueues

logger = logging.getLogger(__name__)

RETRY_S = 1.0  # before the relay subscribes again after losing the broker


async def relay_cancels(
    queues: JobQueues, workers: Mapping[str, Any], stop_event: asyncio.Event
) -> None:
    """Relay cancels until stopped. A lost broker ends a subscription (redis-py gives
    up reconnecting after a few seconds); it is made again once the broker is back.
    A cancel published meanwhile is lost: its row says cancelled all the same, and
    the job's result is dropped when it ends."""
    while not stop_event.is_set():
        try:
            await _relay_once(queues, workers)
        except (RedisError, OSError) as exc:
            logger.warning(
                "cancel relay lost the broker (%s); subscribing again in %g s", exc, RETRY_S
            )
            await asyncio.sleep(RETRY_S)


async def _relay_once(queues: JobQueues, workers: Mapping[str, Any]) -> None:
    pubsub = queues.redis.pubsub()
    try:
        await pubsub.subscribe(queues.cancel_channel)
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            job_id = str(message["data"])
            for worker in workers.values():
                if worker.cancelJob(job_id, "cancelled by user"):
                    logger.info("job %s: cancel signal delivered", job_id)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
