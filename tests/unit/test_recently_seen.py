"""api/seen.py: a yes is kept for its time, the oldest key goes first, a document's keys
are forgotten together."""

from __future__ import annotations

import asyncio
import uuid

from ultudy.api.seen import RecentlySeen


def test_a_key_is_kept_for_its_time_only() -> None:
    now = [0.0]
    seen = RecentlySeen(5.0, clock=lambda: now[0])
    seen.add("a")
    now[0] = 5.0
    assert "a" in seen
    now[0] = 5.1
    assert "a" not in seen
    assert "b" not in seen


def test_the_oldest_key_goes_first_when_full() -> None:
    seen = RecentlySeen(60.0, size=2)
    for key in ("a", "b", "c"):
        seen.add(key)
    assert ["a" in seen, "b" in seen, "c" in seen] == [False, True, True]


def test_a_documents_keys_are_forgotten_together() -> None:
    doc, other = uuid.uuid4(), uuid.uuid4()
    seen = RecentlySeen()
    keys = [("alice", doc, uuid.uuid4()) for _ in range(3)]
    for key in [*keys, ("alice", other, uuid.uuid4()), ("bob", doc, uuid.uuid4())]:
        seen.add(key)
    seen.forget_document("alice", doc)
    assert not any(key in seen for key in keys)
    assert len(seen._seen) == 2


async def test_concurrent_checks_of_one_key_share_one_query() -> None:
    calls = []
    release = asyncio.Event()

    async def check() -> bool:
        calls.append(1)
        await release.wait()
        return True

    seen = RecentlySeen()
    waiting = [asyncio.create_task(seen.confirmed("k", check)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [True] * 5
    assert len(calls) == 1
    assert await seen.confirmed("k", check)  # kept: no second query
    assert len(calls) == 1


async def test_a_no_is_not_kept() -> None:
    calls = []

    async def check() -> bool:
        calls.append(1)
        return False

    seen = RecentlySeen()
    assert not await seen.confirmed("k", check)
    assert not await seen.confirmed("k", check)
    assert len(calls) == 2
