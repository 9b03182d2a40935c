"""Job kinds: what the application registers into the framework.

The framework knows no job type by name. The application gives it a `JobKinds`: for each
kind, the row's `type`, the BullMQ queue that carries it, the processor that runs it and
how many of it one worker runs at once. A row whose type is not registered is refused at
submit (`JobInputError`); a queue name belongs to exactly one kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ultudy.errors import ConfigError, JobInputError
from ultudy.jobs.context import Processor


@dataclass(frozen=True, kw_only=True)
class JobKind:
    name: str  # the jobs row's `type` and the BullMQ job name
    queue: str  # the BullMQ queue
    processor: Processor
    concurrency: int = 1  # jobs of this kind one worker runs at once


class JobKinds:
    """The registry: kinds by name and by queue, in registration order."""

    def __init__(self, kinds: Iterable[JobKind]) -> None:
        self._by_name: dict[str, JobKind] = {}
        self._by_queue: dict[str, JobKind] = {}
        for kind in kinds:
            if kind.name in self._by_name or kind.queue in self._by_queue:
                raise ConfigError(f"job kind {kind.name!r} (queue {kind.queue!r}) is a duplicate")
            if kind.concurrency < 1:
                raise ConfigError(f"job kind {kind.name!r}: concurrency must be at least 1")
            self._by_name[kind.name] = kind
            self._by_queue[kind.queue] = kind

    def __iter__(self) -> Iterator[JobKind]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> JobKind:
        """The kind of a row's `type`; `JobInputError` for one nobody registered."""
        try:
            return self._by_name[name]
        except KeyError:
            raise JobInputError(
                f"unknown job type {name!r}; known: {', '.join(self._by_name)}"
            ) from None

    def by_queue(self, queue: str) -> JobKind:
        try:
            return self._by_queue[queue]
        except KeyError:
            raise ConfigError(f"unknown queue {queue!r}; known: {list(self._by_queue)}") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(self._by_queue)
