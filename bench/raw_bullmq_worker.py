"""Raw bullmq worker for the side-by-side throughput run: same work, no SQL row.

python -m bench.raw_bullmq_worker URL PREFIX CONCURRENCY [bare]
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

from bullmq import Worker


async def process(job: Any, _token: str) -> dict[str, float]:
    started = time.time()
    await job.updateProgress(50)
    return {"started_at": started, "enqueued_at": job.data.get("enqueued_at")}


async def bare(_job: Any, _token: str) -> None:
    return None


async def main(url: str, prefix: str, concurrency: int, progress: bool) -> None:
    opts = {"connection": url, "prefix": prefix, "concurrency": concurrency}
    worker = Worker("raw", process if progress else bare, opts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await worker.close()


if __name__ == "__main__":
    # a fourth argument `bare`: no progress update, nothing returned (bench/peers)
    bare_job = sys.argv[4:] == ["bare"]
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), progress=not bare_job))
