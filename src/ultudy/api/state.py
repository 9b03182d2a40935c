"""What the API process holds for its lifetime, built in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from ultudy.api.hub import EventHub
from ultudy.config import Settings
from ultudy.db import Database
from ultudy.embedded import EmbeddedValkey
from ultudy.jobs.context import Registry, Services
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.service import JobService


@dataclass
class AppState:
    settings: Settings
    db: Database
    queues: JobQueues
    events: EventLog
    jobs: JobService
    services: Services
    registry: Registry
    hub: EventHub
    embedded: EmbeddedValkey | None = None
