"""The operator's view: queue health, the admin overview, pausing a queue."""

from __future__ import annotations

from pydantic import BaseModel


class DatabaseHealth(BaseModel):
    reachable: bool
    rtt_ms: float | None
    error: str | None
    backend: str


class BrokerHealth(BaseModel):
    reachable: bool
    rtt_ms: float | None
    error: str | None
    embedded: bool
    eviction_policy: str | None = None  # absent when the broker did not answer


class WorkerOut(BaseModel):
    id: str
    addr: str
    age_s: str


class HealthReport(BaseModel):
    """`status` is `ok` (200) or `unavailable` (503, the same body)."""

    status: str
    database: DatabaseHealth
    broker: BrokerHealth
    queues: dict[str, dict[str, int]]  # queue -> state -> count, and is_paused 0/1
    workers: dict[str, list[WorkerOut]]
    warnings: list[str]


class FailedJob(BaseModel):
    """A row of the dashboard's failed-jobs table: what it shows, never the owner's input
    or result (the admin reads other people's jobs)."""

    id: str
    owner_id: str
    type: str
    error_message: str | None
    attempts: int
    completed_at: str | None
    updated_at: str


class AdminOverview(HealthReport):
    failed_jobs: list[FailedJob]
    rows: dict[str, int]  # job rows in SQL by status
    live_clients: int  # SSE + WebSocket subscribers of this API process


class QueuePaused(BaseModel):
    queue: str
    paused: bool
