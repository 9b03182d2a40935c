"""What a process that runs jobs counts, in prometheus_client's process-wide registry: the
worker's `--metrics-port` and the API's `/metrics` (inline sync jobs) both serve it.

Per job this costs two histogram observations and one counter increment (a few
microseconds); labels are resolved once per queue and kept.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram, start_http_server

from ultudy.errors import ConfigError

logger = logging.getLogger("ultudy.jobs")

# Jobs run from milliseconds (a check-in) to minutes (a 2,000-page PDF).
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
WAIT_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

JOBS = Counter(
    "ultudy_jobs",
    "Job runs that ended, by queue and outcome (completed, failed, cancelled, retrying)",
    ["queue", "status"],
)
RETRIES = Counter(
    "ultudy_job_retries", "Job runs that failed and were scheduled to run again", ["queue"]
)
DURATION = Histogram(
    "ultudy_job_duration_seconds",
    "Processor run time of a job run, start to end",
    ["queue"],
    buckets=DURATION_BUCKETS_S,
)
WAIT = Histogram(
    "ultudy_job_wait_seconds",
    "Time from the job's (last) add to the queue to its start on a worker",
    ["queue"],
    buckets=WAIT_BUCKETS_S,
)


class QueueMeters:
    """One queue's children, resolved once: `labels()` is a dict lookup under a lock."""

    __slots__ = ("duration", "ended", "retries", "wait")

    def __init__(self, queue: str) -> None:
        self.ended = {status: JOBS.labels(queue, status) for status in _STATUSES}
        self.retries = RETRIES.labels(queue)
        self.duration = DURATION.labels(queue)
        self.wait = WAIT.labels(queue)

    def finished(self, status: str, duration_s: float) -> None:
        self.ended[status].inc()
        self.duration.observe(duration_s)
        if status == "retrying":
            self.retries.inc()


_STATUSES = ("completed", "failed", "cancelled", "retrying")
_METERS: dict[str, QueueMeters] = {}


def meters(queue: str) -> QueueMeters:
    found = _METERS.get(queue)
    if found is None:
        found = _METERS[queue] = QueueMeters(queue)
    return found


class RunWatch:
    """One job run's start and end: its log lines and its metrics."""

    __slots__ = ("fields", "job_meters", "started")

    def __init__(
        self,
        *,
        queue: str,
        job_type: str,
        owner_id: str,
        attempt: int,
        enqueued_at: float | None,
    ) -> None:
        self.job_meters = meters(queue)
        self.started = time.perf_counter()
        self.fields: dict[str, object] = {
            "queue": queue,
            "type": job_type,
            "owner": owner_id,
            "attempt": attempt,
        }
        wait_s = None if enqueued_at is None else max(0.0, time.time() - enqueued_at)
        if wait_s is not None:
            self.job_meters.wait.observe(wait_s)
        if logger.isEnabledFor(logging.INFO):  # the lines' extras cost more than the meters
            logger.info(
                "job started queue=%s type=%s owner=%s attempt=%d wait_ms=%s",
                queue,
                job_type,
                owner_id,
                attempt,
                "-" if wait_s is None else f"{wait_s * 1000:.0f}",
                extra={**self.fields, "event": "job.started", "wait_s": wait_s},
            )

    def ended(self, status: str) -> None:
        duration_s = time.perf_counter() - self.started
        self.job_meters.finished(status, duration_s)
        if not logger.isEnabledFor(logging.INFO):
            return
        f = self.fields
        logger.info(
            "job %s queue=%s type=%s owner=%s attempt=%d duration_ms=%.1f",
            status,
            f["queue"],
            f["type"],
            f["owner"],
            f["attempt"],
            duration_s * 1000,
            extra={**f, "event": f"job.{status}", "duration_s": round(duration_s, 6)},
        )


def serve_metrics(host: str, port: int) -> int:
    """prometheus_client's own server (a thread) for this process's /metrics; the port
    it listens on (0 picks a free one)."""
    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError as exc:  # taken, or not an address of this host: the operator's to fix
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None
    bound = int(server.server_port)
    logger.info("metrics on http://%s:%d/metrics", host, bound)
    return bound
