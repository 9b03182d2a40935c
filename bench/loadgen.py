"""A small HTTP/1.1 load generator over raw asyncio streams, cheap enough to drive a
server at 1,000+ requests/s from the same 2-core machine (httpx costs ~1 ms of CPU per
request, as much as the server under test).

- `open_loop`: requests at a fixed arrival rate; each one's latency runs from its
  *intended* send time, so a server that falls behind shows its queue (it is not given
  time by a load generator that waits for it).
- `closed_loop`: N connections sending back to back for a while: the most the server
  answers.

Both send the same request (method, path, headers, JSON body) over keep-alive
connections and count the answers by status code.

The generator's own garbage collector is held off while it measures (`steady_heap`): a
full collection of its 15,000 pending request tasks took ~80 ms, and every request due in
that time went out late and was charged to the server. `Outcome.late_ms` keeps how late
the generator itself sent each request, so a reader can check it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.common import cpu_seconds


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # of the server process, over the measured span
    own_cpu_s: float = 0.0  # of this load generator
    late_ms: list[float] = field(default_factory=list)  # open loop: sent after its due time

    @property
    def sent(self) -> int:
        return sum(self.codes.values())


def request_bytes(host: str, path: str, body: object, headers: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: {host}", "content-type: application/json"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines.append(f"content-length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> str:
        """Send one request, read its whole answer; the status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class Client:
    """A pool of keep-alive connections; a broken one is replaced."""

    def __init__(self, host: str, port: int, request: bytes, connections: int) -> None:
        self.host, self.port = host, port
        self.request = request
        self.connections = connections
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()

    async def __aenter__(self) -> Client:
        for _ in range(self.connections):
            self.idle.put_nowait(await Connection.open(self.host, self.port))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()

    async def one(self) -> str:
        conn = await self.idle.get()
        try:
            code = await conn.exchange(self.request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await conn.close()
            conn = await Connection.open(self.host, self.port)
            code = type(exc).__name__
        self.idle.put_nowait(conn)
        return code


@contextlib.contextmanager
def steady_heap() -> Iterator[None]:
    """No collector pauses in this process while it measures: what is alive now is frozen
    out of the collector's sight and collection is off until the span ends (a 30 s span
    keeps its garbage, a few tens of MB)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def open_loop(client: Client, *, rate: float, duration_s: float, pid: int) -> Outcome:
    out = Outcome()

    async def timed(due: float) -> None:
        code = await client.one()
        out.latencies_ms.append((time.perf_counter() - due) * 1000)
        out.codes[code] += 1

    with steady_heap():
        cpu, own = cpu_seconds(pid), time.process_time()
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * duration_s)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            out.late_ms.append(max(0.0, time.perf_counter() - due) * 1000)
            tasks.append(asyncio.create_task(timed(due)))
        await asyncio.gather(*tasks)
        out.wall_s = time.perf_counter() - start
        out.cpu_s, out.own_cpu_s = cpu_seconds(pid) - cpu, time.process_time() - own
    return out


async def closed_loop(client: Client, *, duration_s: float, pid: int) -> Outcome:
    out = Outcome()
    stop = time.perf_counter() + duration_s

    async def sender() -> None:
        while time.perf_counter() < stop:
            begun = time.perf_counter()
            code = await client.one()
            out.latencies_ms.append((time.perf_counter() - begun) * 1000)
            out.codes[code] += 1

    with steady_heap():
        cpu, own = cpu_seconds(pid), time.process_time()
        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(client.connections)))
        out.wall_s = time.perf_counter() - start
        out.cpu_s, out.own_cpu_s = cpu_seconds(pid) - cpu, time.process_time() - own
    return out
