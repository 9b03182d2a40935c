"""One peer's worker process for bench/peers: `python -m bench.peers.runner PEER URL CONC`.

Builds the worker (imports, connections), prints `ready`, waits for a line on stdin, then
consumes until the bench kills it: the bench queues its jobs in between, so a round times
the drain of a full queue and not the start-up. Each peer runs its own documented worker
API with its defaults but for the concurrency (and arq's poll delay, see below); the job
does nothing and returns None.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

QUEUE = "peers"  # SAQ's keys are saq:peers:*
ARQ_QUEUE = "peers-arq"  # a sorted set
STREAM = "peers-taskiq"  # taskiq-redis's stream


async def noop(*_args: Any, **_kwargs: Any) -> None:
    return None


async def saq_worker(url: str, concurrency: int) -> Callable[[], Awaitable[None]]:
    from saq import Queue, Worker

    worker = Worker(
        Queue.from_url(url, name=QUEUE), functions=[("noop", noop)], concurrency=concurrency
    )
    return worker.start


async def arq_worker(url: str, concurrency: int) -> Callable[[], Awaitable[None]]:
    from arq.connections import RedisSettings
    from arq.worker import Worker

    worker = Worker(
        functions=[noop],
        redis_settings=RedisSettings.from_dsn(url),
        queue_name=ARQ_QUEUE,
        max_jobs=concurrency,
        poll_delay=0.01,  # its default 0.5 s sleep after each batch of reads would idle it
        handle_signals=False,
    )
    return worker.async_run


async def taskiq_worker(url: str, concurrency: int) -> Callable[[], Awaitable[None]]:
    from taskiq.api import run_receiver_task

    from bench.peers.taskiq_app import broker

    await broker.startup()

    async def run() -> None:
        await run_receiver_task(broker, max_async_tasks=concurrency)

    return run


WORKERS = {"saq": saq_worker, "arq": arq_worker, "taskiq": taskiq_worker}


async def main(peer: str, url: str, concurrency: int) -> None:
    run = await WORKERS[peer](url, concurrency)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    task = asyncio.ensure_future(run())
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
