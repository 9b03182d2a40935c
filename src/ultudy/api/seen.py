"""Ownership checks that were answered yes a moment ago, kept for a few seconds.

A lesson submit checks that the caller's document has the section (one transaction, ~9 %
of the API's CPU per submit before this cache). The answer rarely changes: a section
only goes away with its document, and deleting a document refuses while unfinished jobs
work on it. So a yes is kept for `SECTION_SEEN_S` seconds and forgotten at once when this
process deletes the document; a deletion through another API process can leave a yes
standing that long, and a job submitted then fails in the worker with "no such section"
instead of a 404 (the same outcome as a delete racing a submit). A no is never kept.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable

SECTION_SEEN_S = 5.0
MAX_KEYS = 10_000


class RecentlySeen:
    """Keys confirmed within the last `ttl_s` seconds; at most `size`, the oldest first out."""

    def __init__(
        self,
        ttl_s: float = SECTION_SEEN_S,
        size: int = MAX_KEYS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self.clock = clock
        self._seen: dict[Hashable, float] = {}
        self._checking: dict[Hashable, asyncio.Future[bool]] = {}

    async def confirmed(self, key: Hashable, check: Callable[[], Awaitable[bool]]) -> bool:
        """True if `key` was seen lately, else what `check` says (a yes is kept).
        Concurrent callers for one key share one check: when a busy key's time runs out,
        the requests in flight for it make one query, not one each."""
        if key in self:
            return True
        running = self._checking.get(key)
        if running is None:
            running = self._checking[key] = asyncio.ensure_future(check())
            running.add_done_callback(lambda _done: self._checking.pop(key, None))
        found = await asyncio.shield(running)  # one caller's cancel is not the others'
        if found:
            self.add(key)
        return found

    def __contains__(self, key: Hashable) -> bool:
        at = self._seen.get(key)
        if at is None:
            return False
        if self.clock() - at > self.ttl_s:
            del self._seen[key]
            return False
        return True

    def add(self, key: Hashable) -> None:
        self._seen.pop(key, None)
        if len(self._seen) >= self.size:
            del self._seen[next(iter(self._seen))]
        self._seen[key] = self.clock()

    def forget_document(self, owner_id: str, document_id: uuid.UUID) -> None:
        """Drop every key of one document (keys are (owner, document, section))."""
        for key in [
            k for k in self._seen if isinstance(k, tuple) and k[:2] == (owner_id, document_id)
        ]:
            del self._seen[key]
