"""How a runner writes its job rows: `DirectWriter` (one transaction per change, the API's
inline runs) or a batched writer (group commit, the worker; one per database backend)."""

from __future__ import annotations

from ultudy.jobs.store import JobStore
from ultudy.jobs.writer.batched import WORKER_LINGER_S, BatchedWriter
from ultudy.jobs.writer.direct import DirectWriter
from ultudy.jobs.writer.postgres import PostgresWriter
from ultudy.jobs.writer.protocol import JobWriter
from ultudy.jobs.writer.sqlite import SqliteWriter

__all__ = ["BatchedWriter", "DirectWriter", "JobWriter", "batched_writer"]


def batched_writer(
    store: JobStore, *, linger_s: float = WORKER_LINGER_S, urgent_linger_s: float | None = None
) -> BatchedWriter:
    """The group-committing writer for the store's database."""
    kind = PostgresWriter if store.db.is_postgres else SqliteWriter
    return kind(store, linger_s=linger_s, urgent_linger_s=urgent_linger_s)
