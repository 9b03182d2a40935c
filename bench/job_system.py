"""Issue 3 benchmark: the job system against raw bullmq on the same broker, one run.

- enqueue latency of the async HTTP path (POST /lessons/generate-async, real uvicorn)
- pickup latency: enqueue -> processor start, for our system and raw bullmq
- end-to-end throughput of no-op jobs with one progress update each, same concurrency,
  our system (every job keeps its SQL row) vs raw bullmq; rounds alternate.
- CPU per job of each worker process (from /proc) and of the broker (its INFO cpu: only
  meaningful on the embedded Valkey, which nothing else uses), over the throughput rounds.

BENCH_ROUNDS sets the rounds (3). BENCH_PROGRESS_INTERVAL_MS sets our worker's
ULTUDY_PROGRESS_INTERVAL_MS (default 250: a no-op job's one progress update is throttled
away; 0: every update is written to the row and mirrored onto the BullMQ job, the worst
case).

Against an external Redis and PostgreSQL (ULTUDY_REDIS_URL, ULTUDY_DATABASE_URL) it uses
key prefixes of its own and removes its keys and rows afterwards. It VACUUMs the jobs
table first: where autovacuum is off, earlier runs' dead rows would slow every write.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from bullmq import Queue
from redis.asyncio import Redis
from sqlalchemy import delete, func, select, text

from bench.common import System, cpu_seconds, median, pct, system, table, write_result
from ultudy.bootstrap import load_kinds
from ultudy.config import Settings
from ultudy.db import Database
from ultudy.db.models import documents, jobs
from ultudy.db.study import insert_document
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.service import JobService
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import DirectWriter, batched_writer
from ultudy.kinds import JobType

# worker concurrency; BENCH_CONCURRENCY=50 for issue 16's pickup target (p50 < 3, p99 < 10 ms)
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "10"))
PRODUCERS = 10  # concurrent submitters, as concurrent web requests would be
ENQUEUE_SAMPLES = 400
PICKUP_SAMPLES = 150
THROUGHPUT_JOBS = 1000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
USER = {"x-user-id": "bench"}
RUN = uuid.uuid4().hex[:8]
PREFIX = f"ultudy-bench-{RUN}"  # our queues and event streams
RAW_PREFIX = f"rawbench-{RUN}"


async def seed_section(sys_: System) -> dict[str, str]:
    db = Database(sys_.env["ULTUDY_DATABASE_URL"])
    section_id = uuid.uuid4()
    row = {
        "id": section_id,
        "title": "S",
        "level": 1,
        "page_start": 1,
        "page_end": 1,
        "text": "text",
        "char_count": 4,
        "content_hash": "h",
    }
    doc = {
        "title": "bench",
        "filename": "b.pdf",
        "storage_key": "k",
        "sha256": "",
        "page_count": 1,
        "pages_without_text": [],
    }
    async with db.transaction("bench") as conn:
        doc_id = await insert_document(conn, "bench", doc, [row])
    await db.dispose()
    return {"document_id": str(doc_id), "section_id": str(section_id)}


async def vacuum_jobs(sys_: System) -> None:
    db = Database(sys_.env["ULTUDY_DATABASE_URL"])
    if db.is_postgres:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM (ANALYZE) jobs"))
    await db.dispose()


@contextmanager
def bench_data(sys_: System) -> Iterator[None]:
    """No bench rows or keys before (a run killed half-way left its queued rows, which the
    next run's reconciler would re-enqueue and run, in its measured rounds) or after."""
    asyncio.run(remove_bench_data(sys_))
    try:
        yield
    finally:
        asyncio.run(remove_bench_data(sys_))


async def remove_bench_data(sys_: System) -> None:
    """An external database or broker keeps no bench rows or keys afterwards."""
    db = Database(sys_.env["ULTUDY_DATABASE_URL"])
    async with db.transaction(None) as conn:
        await conn.execute(delete(jobs).where(jobs.c.owner_id == USER["x-user-id"]))
        await conn.execute(delete(documents).where(documents.c.owner_id == USER["x-user-id"]))
    await db.dispose()
    redis = Redis.from_url(sys_.redis_url)
    for prefix in (PREFIX, RAW_PREFIX):
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    await redis.aclose()


def enqueue_latency(sys_: System, body: dict[str, str]) -> list[float]:
    samples = []
    with httpx.Client(base_url=sys_.base_url, headers=USER) as client:
        for _ in range(ENQUEUE_SAMPLES):
            start = time.perf_counter()
            response = client.post("/lessons/generate-async", json=body)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 202, response.text
    return samples


def wait_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.002)


def pickup_ours(sys_: System, body: dict[str, str]) -> list[float]:
    samples = []
    with httpx.Client(base_url=sys_.base_url, headers=USER) as client:
        for _ in range(PICKUP_SAMPLES):
            job_id = client.post("/lessons/generate-async", json=body).json()["job_id"]
            job = wait_job(client, job_id)
            result = job["result_data"]
            samples.append((result["started_at"] - result["enqueued_at"]) * 1000)
    return samples


async def pickup_raw(url: str, prefix: str) -> list[float]:
    queue = Queue("raw", {"connection": url, "prefix": prefix})
    samples = []
    for _ in range(PICKUP_SAMPLES):
        job = await queue.add("noop", {"enqueued_at": time.time()})
        while True:
            fetched = await queue.getJob(job.id)
            if fetched and fetched.returnvalue:
                value = fetched.returnvalue
                samples.append((value["started_at"] - value["enqueued_at"]) * 1000)
                break
            await asyncio.sleep(0.002)
    await queue.close()
    return samples


def service_for(sys_: System, prefix: str = PREFIX) -> tuple[JobService, Database]:
    settings = Settings(
        database_url=sys_.env["ULTUDY_DATABASE_URL"],
        redis_url=sys_.redis_url,
        retention_completed_count=100000,
        redis_prefix=prefix,
    )
    db = Database(settings.resolved_database_url)
    kinds = load_kinds(settings)
    queues = JobQueues(settings, sys_.redis_url, kinds)
    events = EventLog(queues.redis, prefix=settings.redis_prefix, maxlen=1000, ttl_s=3600)
    store = JobStore(db)
    runner = JobRunner(settings, None, DirectWriter(store), events, kinds)
    return JobService(store, queues, events, runner, creator=batched_writer(store, linger_s=0)), db


async def completed_in_queue(queue: Queue) -> int:
    return int((await queue.getJobCounts("completed"))["completed"])


async def throughput_ours(sys_: System, body: dict[str, str]) -> float:
    """Waits the way the raw run does (BullMQ's completed count, polled every 10 ms), then
    until every row says `completed` in SQL: the worker writes a completion behind
    BullMQ's, a few ms later. The time ends when the last row does."""
    service, db = service_for(sys_)
    queue = service.queues.queues[JobType.LESSON_GENERATION.queue_name]
    before = await completed_in_queue(queue)
    start = time.perf_counter()
    ids: list[uuid.UUID] = []

    async def produce(count: int) -> None:
        for _ in range(count):
            ids.append((await service.submit("bench", JobType.LESSON_GENERATION, body)).id)

    await asyncio.gather(*[produce(THROUGHPUT_JOBS // PRODUCERS) for _ in range(PRODUCERS)])
    while await completed_in_queue(queue) - before < THROUGHPUT_JOBS:
        await asyncio.sleep(0.01)
    deadline = time.perf_counter() + 30
    while (statuses := await rows_status(db, ids)) != {"completed": THROUGHPUT_JOBS}:
        assert time.perf_counter() < deadline, statuses
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    await service.events.drain()
    await service.queues.close()
    await service.creator.close()
    await db.dispose()
    return THROUGHPUT_JOBS / elapsed


# ids per `IN (...)`: a driver takes at most 32,767 parameters in one statement
IDS_PER_QUERY = 10_000


async def rows_status(db: Database, ids: list[uuid.UUID]) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.transaction(None) as conn:
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            query = select(jobs.c.status, func.count()).where(jobs.c.id.in_(chunk))
            for status, n in await conn.execute(query.group_by(jobs.c.status)):
                counts[status] = counts.get(status, 0) + int(n)
    return counts


async def throughput_raw(url: str, prefix: str) -> float:
    queue = Queue("raw", {"connection": url, "prefix": prefix})
    before = await completed_in_queue(queue)
    start = time.perf_counter()

    async def produce(count: int) -> None:
        for _ in range(count):
            await queue.add("noop", {}, {"removeOnComplete": {"count": 100000}})

    await asyncio.gather(*[produce(THROUGHPUT_JOBS // PRODUCERS) for _ in range(PRODUCERS)])
    while await completed_in_queue(queue) - before < THROUGHPUT_JOBS:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    await queue.close()
    return THROUGHPUT_JOBS / elapsed


WORKER = ("-m", "ultudy", "worker", "--queues", "lesson-generation")
WORKER_START_S = 1.5
# our worker with BullMQ's per-minute metrics (the dashboard's charts) and without
METRICS_VARIANTS = {"on": "1440", "off": "0"}


@dataclass(frozen=True)
class Cpu:
    worker_ms: float  # CPU of the worker process per job
    broker_ms: float  # CPU of the Redis/Valkey server per job (producer's and worker's calls)


async def broker_cpu_s(url: str) -> float:
    redis = Redis.from_url(url)
    info = await redis.info("cpu")
    await redis.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextmanager
def measured(pid: int, url: str, into: list[Cpu]) -> Iterator[None]:
    worker, broker = cpu_seconds(pid), asyncio.run(broker_cpu_s(url))
    yield
    worker_ms = (cpu_seconds(pid) - worker) * 1000 / THROUGHPUT_JOBS
    broker_ms = (asyncio.run(broker_cpu_s(url)) - broker) * 1000 / THROUGHPUT_JOBS
    into.append(Cpu(worker_ms=worker_ms, broker_ms=broker_ms))


def cpu_table(ours: dict[str, list[Cpu]], raw: list[Cpu]) -> str:
    """CPU per job from /proc (worker) and INFO cpu (broker), medians of the rounds."""
    rows = []
    for label, samples in (
        ("ours, metrics history on (default)", ours["on"]),
        ("ours, metrics history off", ours["off"]),
        ("raw bullmq", raw),
    ):
        worker = [c.worker_ms for c in samples]
        broker = [c.broker_ms for c in samples]
        rows.append(
            [
                label,
                f"{median(worker):.3f}",
                ", ".join(f"{v:.3f}" for v in worker),
                f"{median(broker):.3f}",
                ", ".join(f"{v:.3f}" for v in broker),
            ]
        )
    on = median([c.worker_ms for c in ours["on"]]) / median([c.worker_ms for c in ours["off"]])
    rows.append(["worker CPU ratio on / off", f"{on:.0%}", "target ≤ 1.3 ms per job", "", ""])
    headers = ["CPU per job (ms)", "worker median", "rounds", "broker median", "rounds"]
    return table(headers, rows)


def backend_label() -> str:
    db = "PostgreSQL" if "postgres" in os.environ.get("ULTUDY_DATABASE_URL", "") else "SQLite"
    broker = "Redis" if os.environ.get("ULTUDY_REDIS_URL") else "embedded Valkey"
    return f"{db} + {broker}"


def main() -> None:
    settings = {
        "ULTUDY_PROCESSORS": "bench.noop:REGISTRY",
        "ULTUDY_REDIS_PREFIX": PREFIX,
        "ULTUDY_CONCURRENCY_LESSON_GENERATION": str(CONCURRENCY),
        "ULTUDY_MAX_PENDING_JOBS_PER_USER": "1000000",
        "ULTUDY_PROGRESS_INTERVAL_MS": os.environ.get("BENCH_PROGRESS_INTERVAL_MS", "250"),
    }
    with system(**settings) as sys_, bench_data(sys_):
        asyncio.run(vacuum_jobs(sys_))
        body = asyncio.run(seed_section(sys_))
        sys_.start_api()
        enqueue = enqueue_latency(sys_, body)
        worker = sys_.spawn(*WORKER)
        raw_prefix = RAW_PREFIX
        raw = sys_.spawn(
            "-m", "bench.raw_bullmq_worker", sys_.redis_url, raw_prefix, str(CONCURRENCY)
        )
        time.sleep(1.0)
        ours_pick = pickup_ours(sys_, body)
        raw_pick = asyncio.run(pickup_raw(sys_.redis_url, raw_prefix))
        sys_.stop(worker)
        ours_tp, raw_tp = [], []
        cpu: dict[str, list[Cpu]] = {variant: [] for variant in METRICS_VARIANTS}
        raw_cpu: list[Cpu] = []
        for _ in range(ROUNDS):
            for variant, minutes in METRICS_VARIANTS.items():
                worker = sys_.spawn(*WORKER, ULTUDY_METRICS_HISTORY_MIN=minutes)
                time.sleep(WORKER_START_S)
                with measured(worker.pid, sys_.redis_url, cpu[variant]):
                    tp = asyncio.run(throughput_ours(sys_, body))
                sys_.stop(worker)
                if variant == "on":
                    ours_tp.append(tp)
            with measured(raw.pid, sys_.redis_url, raw_cpu):
                raw_tp.append(asyncio.run(throughput_raw(sys_.redis_url, raw_prefix)))
        sys_.stop_all()
    rows = [
        [
            "enqueue latency, HTTP async path (ms)",
            f"{median(enqueue):.2f}",
            f"{pct(enqueue, 99):.2f}",
            "–",
            "–",
        ],
        [
            "pickup latency, queue add → processor start (ms)",
            f"{median(ours_pick):.2f}",
            f"{pct(ours_pick, 99):.2f}",
            f"{median(raw_pick):.2f}",
            f"{pct(raw_pick, 99):.2f}",
        ],
    ]
    ratio = median(ours_tp) / median(raw_tp)
    text = "\n".join(
        [
            f"### Job system vs raw bullmq (worker concurrency {CONCURRENCY}, one worker process, "
            f"{PRODUCERS} concurrent producers, {THROUGHPUT_JOBS} no-op jobs × {ROUNDS} "
            f"alternating rounds, {backend_label()})",
            "",
            table(["measure", "ours p50", "ours p99", "raw bullmq p50", "raw bullmq p99"], rows),
            "",
            table(
                ["end-to-end throughput", "median jobs/s", "rounds"],
                [
                    [
                        "ours (SQL row per job)",
                        f"{median(ours_tp):.0f}",
                        ", ".join(f"{v:.0f}" for v in ours_tp),
                    ],
                    ["raw bullmq", f"{median(raw_tp):.0f}", ", ".join(f"{v:.0f}" for v in raw_tp)],
                    ["ratio ours / raw", f"{ratio:.0%}", "target ≥ 70 %"],
                ],
            ),
            "",
            cpu_table(cpu, raw_cpu),
        ]
    )
    write_result("job_system", text)


if __name__ == "__main__":
    main()
