"""What the API process holds for its lifetime, built in the lifespan: the process's
container (`ultudy.bootstrap`) plus the API's own event hub."""

from __future__ import annotations

from dataclasses import dataclass, field

from ultudy.api.hub import EventHub
from ultudy.api.seen import RecentlySeen
from ultudy.bootstrap import Container
from ultudy.config import Settings
from ultudy.db import Database
from ultudy.embedded import EmbeddedValkey
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.service import JobService
from ultudy.jobs.types import JobKinds
from ultudy.services import StudyServices


@dataclass(frozen=True)
class AppState:
    container: Container
    hub: EventHub
    sections_seen: RecentlySeen = field(default_factory=RecentlySeen)

    @property
    def settings(self) -> Settings:
        return self.container.settings

    @property
    def db(self) -> Database:
        return self.container.db

    @property
    def queues(self) -> JobQueues:
        return self.container.queues

    @property
    def events(self) -> EventLog:
        return self.container.events

    @property
    def jobs(self) -> JobService:
        return self.container.jobs

    @property
    def services(self) -> StudyServices:
        return self.container.services

    @property
    def kinds(self) -> JobKinds:
        return self.container.kinds

    @property
    def embedded(self) -> EmbeddedValkey | None:
        return self.container.embedded
