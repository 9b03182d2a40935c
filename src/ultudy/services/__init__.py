"""The application layer: what both the API routes and the processors call.

`StudyServices` is the typed set of long-lived resources handed to every processor (as
`ctx.services`) and held by the API: the settings, the database, the file storage and the
engines (built on first use, so that a process that never grades imports no model code).
"""

from __future__ import annotations

from dataclasses import dataclass

from ultudy.config import Settings
from ultudy.db import Database
from ultudy.jobs.context import JobContext
from ultudy.services.engines import Engines
from ultudy.services.storage import Storage, local_storage


@dataclass(frozen=True, kw_only=True)
class StudyServices:
    settings: Settings
    db: Database
    storage: Storage
    engines: Engines

    @classmethod
    def build(cls, settings: Settings, db: Database) -> StudyServices:
        return cls(
            settings=settings, db=db, storage=local_storage(settings), engines=Engines(settings)
        )


StudyContext = JobContext[StudyServices]  # what a study processor gets

__all__ = ["StudyContext", "StudyServices"]
