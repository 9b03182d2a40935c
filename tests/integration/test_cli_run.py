"""`ultudy run` (what `make run` starts): embedded Valkey + API + worker on one data dir,
stopped cleanly by Ctrl-C, and its data still there on the next start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.harness import ROOT
from tests.support.sections import a_section
from ultudy.db import Database
from ultudy.embedded import _free_port, _ping, broker_url

pytestmark = pytest.mark.slow
USER = {"x-user-id": "alice"}


def start_run(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ultudy", "run"],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/jobs/health/queues", headers=USER, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("ultudy run did not come up:\n" + log.read_text())


async def seed(database_url: str) -> dict[str, str]:
    db = Database(database_url)
    try:
        return await a_section(db, "alice")
    finally:
        await db.dispose()


def test_run_serves_jobs_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTUDY_")}
    env.update(
        ULTUDY_DATA_DIR=str(tmp_path / "data"),
        ULTUDY_PORT=str(port),
        ULTUDY_PROCESSORS="tests.support.processors:REGISTRY",
    )
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    proc = start_run(env, log)
    try:
        wait_up(base, proc, log)
        broker = json.loads((tmp_path / "data" / "valkey" / "valkey.json").read_text())
        body = asyncio.run(seed(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'ultudy.db'}"))
        job_id = httpx.post(f"{base}/lessons/generate-async", json=body, headers=USER).json()[
            "job_id"
        ]
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/jobs/{job_id}", headers=USER).json()["status"] != "completed":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        listed = subprocess.run(
            [sys.executable, "-m", "ultudy", "jobs", "list"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        jobs = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(j["id"], j["owner_id"], j["status"]) for j in jobs] == [
            (job_id, "alice", "completed")
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()
    password = (tmp_path / "data" / "valkey" / "password").read_text()
    assert not _ping(broker_url(broker["port"], password)), "broker left running"
    proc = start_run(env, log)
    try:
        wait_up(base, proc, log)
        job = httpx.get(f"{base}/jobs/{job_id}", headers=USER).json()
        assert job["status"] == "completed"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
