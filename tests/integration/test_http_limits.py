"""Issue 11, finding 6: request bodies are counted as they arrive and refused at the limit,
in-process (exact byte counts) and in a real API process (its memory and socket reads)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.backends import Backend
from tests.support.harness import api, api_process

logger = logging.getLogger(__name__)
ALICE = {"x-user-id": "alice"}
CHUNK_BYTES = 64 * 1024
MB = 1024 * 1024
BOUNDARY = "limit-test-boundary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
UPLOAD_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
    "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
).encode()
UPLOAD_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
JSON_HEAD = b'{"document_id": "'
JSON_TAIL = b'"}'


class Body:
    """A request body made on the fly in chunks, counting what the sender has taken: the
    test never holds it whole, and the count bounds what the server can have read."""

    def __init__(self, head: bytes, total_bytes: int, tail: bytes) -> None:
        self.head = head
        self.tail = tail
        self.total_bytes = total_bytes
        self.taken_bytes = 0

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        chunk = b"a" * CHUNK_BYTES
        for _ in range(self.total_bytes // CHUNK_BYTES):
            self.taken_bytes += CHUNK_BYTES
            yield chunk
        yield self.tail

    async def stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


async def test_a_chunked_upload_is_cut_off_at_the_limit_not_spooled_whole(
    backend: Backend,
) -> None:
    body = Body(
        UPLOAD_HEAD, 64 * MB, UPLOAD_TAIL
    )  # no Content-Length: the declared-size check cannot help
    async with api(backend.settings(max_upload_mb=1)) as (client, _state):
        response = await client.post(
            "/upload/pdf-structured-async", content=body.stream(), headers={**ALICE, **MULTIPART}
        )
        assert response.status_code == 413
        assert "1 MB upload limit" in response.json()["detail"]
        assert (await client.get("/jobs", headers=ALICE)).json()["jobs"] == []
    assert body.taken_bytes <= 1 * MB + 64 * 1024 + CHUNK_BYTES


async def test_a_json_body_over_the_limit_is_413_declared_or_chunked(backend: Backend) -> None:
    async with api(backend.settings(max_json_kb=64)) as (client, _state):
        declared = await client.post(
            "/lessons/generate-async", headers=ALICE, content=JSON_HEAD + b"a" * 100_000 + JSON_TAIL
        )
        chunked = Body(JSON_HEAD, 8 * MB, JSON_TAIL)
        streamed = await client.post(
            "/lessons/generate-async", headers=ALICE, content=chunked.stream()
        )
        small = await client.post("/lessons/generate-async", headers=ALICE, json={"x": "y"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"detail": "The request body is larger than the 64 KB limit."}
    assert chunked.taken_bytes <= 64 * 1024 + CHUNK_BYTES
    assert small.status_code == 422  # under the limit the route answers as before


def _memory_and_reads(pid: int) -> tuple[int, int]:
    """The process's peak resident memory (VmHWM) and bytes read by its syscalls (rchar)."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")
    )
    io = Path(f"/proc/{pid}/io").read_text()
    rchar = next(int(line.split()[1]) for line in io.splitlines() if line.startswith("rchar:"))
    return peak_kb * 1024, rchar


def _post(base: str, path: str, body: Body, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base}{path}", content=body.chunks(), headers=headers, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "body", "headers", "limit_bytes"),
    [
        (
            "/lessons/generate-async",
            (JSON_HEAD, 200 * MB, JSON_TAIL),
            {"content-type": "application/json"},
            MB,
        ),
        (
            "/upload/pdf-structured-async",
            (UPLOAD_HEAD, 64 * MB, UPLOAD_TAIL),
            MULTIPART,
            8 * MB + 64 * 1024,
        ),
    ],
    ids=["json-200MB", "upload-64MB"],
)
def test_a_real_api_process_reads_about_the_limit_and_its_memory_stays_flat(
    backend: Backend,
    tmp_path: Path,
    path: str,
    body: tuple[bytes, int, bytes],
    headers: dict[str, str],
    limit_bytes: int,
) -> None:
    """The issue's measurements, redone: a 200 MB JSON body took the API from 206 to 802 MB
    and a 64 MB chunked upload was spooled whole before its answer."""
    env = backend.env(max_upload_mb=8)
    with api_process(env, tmp_path / "api.log") as (base, proc):
        peak_before, read_before = _memory_and_reads(proc.pid)
        sent = Body(*body)
        started = time.monotonic()
        response = _post(base, path, sent, {**ALICE, **headers})
        elapsed_s = time.monotonic() - started
        peak_after, read_after = _memory_and_reads(proc.pid)
    assert response.status_code == 413, response.text[:300]  # a 422 quotes the whole body
    read_bytes = read_after - read_before
    assert read_bytes < limit_bytes + 2 * MB, f"the server read {read_bytes / MB:.1f} MB"
    assert peak_after - peak_before < 40 * MB, (peak_before / MB, peak_after / MB)
    assert sent.taken_bytes < sent.total_bytes / 2, "the client had to send it all"
    logger.info(
        "%s: server read %.1f MB, peak memory +%.1f MB, client sent %.1f MB in %.2f s",
        path,
        read_bytes / MB,
        (peak_after - peak_before) / MB,
        sent.taken_bytes / MB,
        elapsed_s,
    )
