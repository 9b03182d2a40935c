"""Jobs as the API shows them: a job, a page of jobs, an accepted submission."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus


class JobOut(BaseModel):
    """A job as its row: timestamps in ISO 8601 UTC. `type` is a plain string: job types
    are registered by the application, so the API does not close the list."""

    id: str
    owner_id: str
    type: str
    status: JobStatus
    progress: int
    progress_message: str | None
    input_data: dict[str, Any]
    result_data: dict[str, Any] | None
    error_message: str | None
    attempts: int
    max_attempts: int
    created_at: str
    started_at: str | None
    completed_at: str | None
    updated_at: str
    inline: bool
    priority: int
    run_at: str | None
    blocked: bool = False  # pending, waiting for the jobs it depends on

    @classmethod
    def of(cls, record: JobRecord) -> JobOut:
        return cls.model_validate(record.to_public())


class JobList(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None


class JobAccepted(BaseModel):
    job_id: str
