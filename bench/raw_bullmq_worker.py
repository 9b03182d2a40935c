"""Raw bullmq worker for the side-by-side throughput run: same work, no SQL row."""

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


async def main(url: str, prefix: str, concurrency: int) -> None:
    worker = Worker(
        "raw", process, {"connection": url, "prefix": prefix, "concurrency": concurrency}
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await worker.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
