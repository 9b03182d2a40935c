"""Group commit: order, lingering, urgent items and keys (a real event loop, a recording
flush function; no I/O)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ultudy.jobs.batching import GroupCommit

Item = tuple[str, str]  # (key, label)


class Recorder:
    def __init__(self, *, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    async def flush(self, items: list[Item]) -> Sequence[str]:
        self.batches.append([label for _, label in items])
        await asyncio.sleep(0.001)  # a round trip, during which new items queue up
        if self.fail_on is not None and self.fail_on in self.batches[-1]:
            raise RuntimeError("flush failed")
        return [f"done:{label}" for _, label in items]


def commit(rec: Recorder, **options: float) -> GroupCommit[Item, str]:
    return GroupCommit(rec.flush, name="test", key=lambda item: item[0], **options)  # type: ignore[arg-type]


async def test_without_linger_items_queued_during_a_flush_go_together_in_order() -> None:
    rec = Recorder()
    group: GroupCommit[Item, str] = GroupCommit(rec.flush, name="test")
    first = group.submit_nowait(("a", "1"))
    await asyncio.sleep(0)  # the first flush is in flight
    rest = [group.submit_nowait(("b", str(n))) for n in range(2, 6)]
    assert await asyncio.gather(first, *rest) == [f"done:{n}" for n in range(1, 6)]
    assert rec.batches == [["1"], ["2", "3", "4", "5"]]


async def test_an_item_nobody_awaits_lingers_for_company() -> None:
    rec = Recorder()
    group = commit(rec, linger_s=0.5, urgent_linger_s=0.0)
    a = group.submit_nowait(("a", "start-a"))
    await asyncio.sleep(0.01)
    assert rec.batches == []  # still lingering
    b = group.submit_nowait(("b", "start-b"))
    await asyncio.gather(a, b)
    assert rec.batches == [["start-a", "start-b"]]


async def test_an_urgent_item_takes_its_own_key_along_and_leaves_the_others_lingering() -> None:
    """Had the urgent item waited out the oldest item's linger, that item would have gone
    in its batch: the batches show that it did not, without a clock."""
    rec = Recorder()
    group = commit(rec, linger_s=0.5, urgent_linger_s=0.0)
    other = group.submit_nowait(("b", "start-b"))
    group.submit_nowait(("a", "start-a"))
    group.submit_nowait(("a", "progress-a"))
    assert await group.submit(("a", "end-a")) == "done:end-a"
    assert rec.batches == [["start-a", "progress-a", "end-a"]]
    assert not other.done()
    assert await other == "done:start-b"
    assert rec.batches[1] == ["start-b"]


async def test_an_urgent_item_waits_its_short_linger_and_gathers_other_urgent_ones() -> None:
    """An urgent item lingers (a later urgent one joins it) but only its own, shorter
    linger: a lingering plain item of another key stays behind."""
    rec = Recorder()
    group = commit(rec, linger_s=1.0, urgent_linger_s=0.2)
    other = group.submit_nowait(("z", "start-z"))
    first = asyncio.create_task(group.submit(("a", "end-a")))
    await asyncio.sleep(0.01)
    assert rec.batches == []  # still lingering
    ends = [first, *[asyncio.create_task(group.submit((key, f"end-{key}"))) for key in "bc"]]
    assert await asyncio.gather(*ends) == ["done:end-a", "done:end-b", "done:end-c"]
    assert rec.batches == [["end-a", "end-b", "end-c"]]
    assert not other.done()
    await group.drain()
    assert rec.batches[1:] == [["start-z"]]


async def test_the_urgent_linger_never_exceeds_the_plain_one() -> None:
    rec = Recorder()
    group = commit(rec, linger_s=0.01, urgent_linger_s=5.0)
    await asyncio.wait_for(group.submit(("a", "end-a")), timeout=1)


async def test_a_failed_flush_fails_only_its_own_batch() -> None:
    rec = Recorder(fail_on="end-a")
    group = commit(rec, linger_s=0.05, urgent_linger_s=0.0)
    later = group.submit_nowait(("b", "start-b"))
    failed = group.submit_nowait(("a", "end-a"), urgent=True)
    with pytest.raises(RuntimeError, match="flush failed"):
        await failed
    assert await later == "done:start-b"


async def test_drain_waits_for_lingering_items() -> None:
    rec = Recorder()
    group = commit(rec, linger_s=0.03)
    futures = [group.submit_nowait((key, key)) for key in "xyz"]
    await group.drain()
    assert all(f.done() for f in futures)
    assert rec.batches == [["x", "y", "z"]]


async def test_posted_items_keep_their_place_and_a_failed_flush_reports_how_many_it_lost() -> None:
    rec = Recorder(fail_on="p2")
    lost: list[tuple[int, str]] = []
    group: GroupCommit[Item, str] = GroupCommit(
        rec.flush, name="test", on_lost=lambda count, exc: lost.append((count, str(exc)))
    )
    group.post(("a", "p1"))
    await asyncio.sleep(0)  # the first flush is in flight
    group.post(("a", "p2"))
    waited = group.submit_nowait(("a", "s3"))
    group.post(("a", "p4"))
    with pytest.raises(RuntimeError, match="flush failed"):
        await waited
    await group.drain()
    assert rec.batches == [["p1"], ["p2", "s3", "p4"]]
    assert lost == [(2, "flush failed")]  # once per failed flush, its posted items counted
