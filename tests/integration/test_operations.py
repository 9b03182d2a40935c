"""What an operator scrapes and reads, after real jobs ran on a real worker process: the
metrics of the API and of the worker (parsed with prometheus_client's own parser), the
worker's JSON log lines carrying the submitting request's id, and the CLI's answers."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.support.backends import Backend
from tests.support.cli import run_cli
from tests.support.harness import api, start_worker, stop, wait_for_status, worker_process
from tests.support.servers import free_port
from ultudy.db import Database
from ultudy.jobs.worker import WorkerProcess
from ultudy.kinds import JobType
from ultudy.logs import current_request_id

ALICE = {"x-user-id": "alice"}
REQUEST_ID = "req-ops-42"
FIRST = "20251115000000"  # the first migration's revision
QUEUES = ("material-upload", "lesson-generation", "check-in-evaluation")


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(family: Any, suffix: str = "", **labels: str) -> float:
    """The value of the family's sample NAME+suffix whose labels include `labels`."""
    values = [
        s.value
        for s in family.samples
        if s.name == family.name + suffix and labels.items() <= s.labels.items()
    ]
    assert len(values) == 1, (family.name, suffix, labels, family.samples)
    return float(values[0])


def job_lines(log: Path, job_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("job_id") == job_id]


RETRY_ROUTE = {"method": "POST", "route": "/jobs/{job_id}/retry", "status": "202"}


async def _retries_counted(client: httpx.AsyncClient) -> float:
    """The API's count of answered retries so far (its registry lives as long as the test
    process, so other tests' retries are in it too)."""
    http = families((await client.get("/metrics", headers=ALICE)).text).get(
        "ultudy_http_request_duration_seconds"
    )
    found = [
        s.value
        for s in (http.samples if http else [])
        if s.name.endswith("_count") and RETRY_ROUTE.items() <= s.labels.items()
    ]
    return float(sum(found))


async def _a_job_with_request_id(client: httpx.AsyncClient, state: Any) -> str:
    """A job submitted by an HTTP request carrying REQUEST_ID: a cancelled job's retry."""
    held = await state.jobs.submit("alice", JobType.CHECK_IN_EVALUATION, {}, delay_s=3600)
    await state.jobs.cancel("alice", held.id)
    response = await client.post(
        f"/jobs/{held.id}/retry", headers={**ALICE, "X-Request-ID": REQUEST_ID}
    )
    assert response.status_code == 202, response.text
    assert response.headers["x-request-id"] == REQUEST_ID
    return str(response.json()["job_id"])


async def test_metrics_logs_and_request_ids_after_real_jobs(
    backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    env = backend.env(log_format="json", metrics_port=port, log_level="INFO")
    worker = start_worker(env, log=log)
    try:
        async with api(backend.settings()) as (client, state):
            retries_before = await _retries_counted(client)
            job_id = await _a_job_with_request_id(client, state)
            token = current_request_id.set("-")  # the direct submits carry none
            try:
                crashing = await state.jobs.submit(
                    "alice", JobType.MATERIAL_UPLOAD, {"crash_until_attempt": 1}
                )
            finally:
                current_request_id.reset(token)
            await wait_for_status(client, job_id, "completed", user="alice", timeout=60)
            await wait_for_status(client, str(crashing.id), "completed", user="alice", timeout=60)

            # The API: its own HTTP histograms, and the system's queues, rows and workers.
            scraped = await client.get("/metrics", headers=ALICE)
            assert scraped.status_code == 200
            assert scraped.headers["content-type"].startswith("text/plain")
            api_metrics = families(scraped.text)
            http = api_metrics["ultudy_http_request_duration_seconds"]
            assert http.type == "histogram"
            assert sample(http, "_count", **RETRY_ROUTE) == retries_before + 1
            assert all(s.labels.get("route") != f"/jobs/{job_id}" for s in http.samples)
            queue_jobs = api_metrics["ultudy_queue_jobs"]
            assert queue_jobs.type == "gauge"
            assert {s.labels["state"] for s in queue_jobs.samples} >= {"waiting", "active"}
            assert "is_paused" not in {s.labels["state"] for s in queue_jobs.samples}
            paused, workers = (
                api_metrics["ultudy_queue_paused"],
                api_metrics["ultudy_queue_workers"],
            )
            for queue in QUEUES:
                assert sample(paused, queue=queue) == 0
                assert sample(workers, queue=queue) == 1, "one worker process, counted once"
            assert sample(api_metrics["ultudy_jobs_rows"], status="completed") >= 2
            assert api_metrics["ultudy_sse_clients"].type == "gauge"

        # The worker's own /metrics: counters and histograms of the jobs it ran.
        async with httpx.AsyncClient() as scraper:
            worker_metrics = families((await scraper.get(f"http://127.0.0.1:{port}/metrics")).text)
        jobs_total = worker_metrics["ultudy_jobs"]
        assert jobs_total.type == "counter"
        assert sample(jobs_total, "_total", queue="check-in-evaluation", status="completed") == 1
        assert sample(jobs_total, "_total", queue="material-upload", status="completed") == 1
        assert sample(jobs_total, "_total", queue="material-upload", status="retrying") == 1
        retries = worker_metrics["ultudy_job_retries"]
        assert sample(retries, "_total", queue="material-upload") == 1
        for name in ("ultudy_job_duration_seconds", "ultudy_job_wait_seconds"):
            assert worker_metrics[name].type == "histogram"
        assert (
            sample(worker_metrics["ultudy_job_duration_seconds"], "_count", queue="material-upload")
            == 2
        )
        assert (
            sample(worker_metrics["ultudy_job_wait_seconds"], "_count", queue="check-in-evaluation")
            == 1
        )
    finally:
        assert stop(worker) == 0

    # The worker's log: JSON, one line per job start and end, with the request's id.
    lines = job_lines(log, job_id)
    started = [line for line in lines if line.get("event") == "job.started"]
    ended = [line for line in lines if line.get("event") == "job.completed"]
    assert len(started) == len(ended) == 1, lines
    for line in (started[0], ended[0]):
        assert line["request_id"] == REQUEST_ID
        assert line["queue"] == "check-in-evaluation"
        assert line["type"] == "check_in_evaluation"
        assert line["owner"] == "alice"
        assert line["attempt"] == 1
        assert line["level"] == "INFO"
    assert ended[0]["duration_s"] >= 0
    retried = [line.get("event") for line in job_lines(log, str(crashing.id))]
    assert retried.count("job.started") == 2
    assert "job.retrying" in retried


async def test_a_request_id_is_made_when_none_or_a_bad_one_comes(backend: Backend) -> None:
    async with api(backend.settings()) as (client, _state):
        made = (await client.get("/livez")).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        bad = await client.get("/livez", headers={"X-Request-ID": "two words\x7f"})
        assert bad.headers["x-request-id"] != "two words\x7f"
        refused = await client.get("/jobs")  # a refusal before any route has one too
        assert refused.status_code == 401
        assert refused.headers["x-request-id"]


def test_cli_version_check_and_jobs_show(backend: Backend) -> None:
    env = backend.env()
    version = run_cli(["--version"], env)
    assert version.returncode == 0
    assert re.fullmatch(r"ultudy \d+\.\d+\.\d+\n", version.stdout)

    checked = run_cli(["check"], env)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == ["database: ok", "broker: ok"]
    down = run_cli(["check"], {**env, "ULTUDY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert down.returncode == 1
    assert down.stderr.startswith("broker: ")
    assert "Traceback" not in down.stderr

    missing = run_cli(["jobs", "show", str(uuid.uuid4())], env)
    assert missing.returncode == 1
    assert missing.stderr == "ultudy: Job not found\n"
    assert run_cli(["jobs", "show", "nope"], env).returncode == 2
    quiet = run_cli(["--log-level", "loud", "check"], env)
    assert quiet.returncode == 2
    assert quiet.stderr.startswith("ultudy: invalid configuration: ULTUDY_LOG_LEVEL")


async def test_check_says_when_the_schema_is_behind_the_code(backend: Backend) -> None:
    database = Database(backend.system_database_url or backend.database_url)
    async with database.system_engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :old"), {"old": FIRST})
    await database.dispose()
    behind = run_cli(["check"], backend.env())
    assert behind.returncode == 1
    assert behind.stderr.startswith(f"database: schema at revision {FIRST}, this code needs 2"), (
        behind.stderr
    )
    assert "ultudy migrate" in behind.stderr
    assert behind.stdout == "broker: ok\n"


def test_check_does_not_make_a_missing_sqlite_file_or_pass_an_empty_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTUDY_")}
    env["ULTUDY_DATA_DIR"] = str(tmp_path)
    env["ULTUDY_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing there
    path = tmp_path / "never-made.db"
    missing = run_cli(["check"], {**env, "ULTUDY_DATABASE_URL": f"sqlite:///{path}"})
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"database: no database file at {path}; `ultudy migrate`")
    assert not path.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    unmigrated = run_cli(["check"], {**env, "ULTUDY_DATABASE_URL": f"sqlite:///{empty}"})
    assert unmigrated.returncode == 1
    assert unmigrated.stderr.startswith("database: schema at revision none, this code needs ")


async def test_jobs_show_prints_the_whole_row(backend: Backend) -> None:
    async with api(backend.settings()) as (_client, state):
        record = await state.jobs.submit("bob", JobType.LESSON_GENERATION, {"x": 1}, delay_s=60)
    shown = run_cli(["--log-level", "WARNING", "jobs", "show", str(record.id)], backend.env())
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["id"] == str(record.id)
    assert body["owner_id"] == "bob"
    assert body["input_data"] == {"x": 1}
    assert body["status"] == "pending"


async def test_worker_concurrency_overrides_every_queue_of_the_process(backend: Backend) -> None:
    settings = backend.settings()
    async with worker_process(settings, kind=partial(WorkerProcess, concurrency=2)) as worker:
        options = {name: worker.make_bull_worker(name).opts for name in QUEUES}
    assert {name: opts["concurrency"] for name, opts in options.items()} == dict.fromkeys(QUEUES, 2)
    async with worker_process(settings) as worker:
        default = worker.make_bull_worker("check-in-evaluation").opts["concurrency"]
    assert default == settings.concurrency_check_in_evaluation
