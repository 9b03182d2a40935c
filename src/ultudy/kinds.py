"""The study app's job types: their names and queues, with no processor behind them.

The API names a job type from here without importing any processor; `ultudy.processors`
pairs each type with its processor and registers them into the job framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ultudy.config import Settings
from ultudy.errors import ConfigError
from ultudy.jobs.context import Processor
from ultudy.jobs.types import JobKind, JobKinds


class JobType(StrEnum):
    MATERIAL_UPLOAD = "material_upload"
    LESSON_GENERATION = "lesson_generation"
    CHECK_IN_EVALUATION = "check_in_evaluation"
    CHECK_IN_REMINDER = "check_in_reminder"
    NOTIFICATION = "notification"

    @property
    def queue_name(self) -> str:
        if self is JobType.NOTIFICATION:
            return "notifications"
        return self.value.replace("_", "-")


# Light jobs with no setting of their own: a few at once per worker.
LIGHT_CONCURRENCY = 5


def concurrency(settings: Settings, job_type: JobType) -> int:
    """The `ULTUDY_CONCURRENCY_*` setting of a study job type."""
    return {
        JobType.MATERIAL_UPLOAD: settings.concurrency_material_upload,
        JobType.LESSON_GENERATION: settings.concurrency_lesson_generation,
        JobType.CHECK_IN_EVALUATION: settings.concurrency_check_in_evaluation,
    }.get(job_type, LIGHT_CONCURRENCY)


def study_kinds(settings: Settings, processors: Mapping[str, Processor]) -> JobKinds:
    """The study job types that have a processor in `processors` (by type name)."""
    unknown = sorted(set(processors) - set(JobType))
    if unknown:
        raise ConfigError(f"processors for unknown job type(s) {unknown}; known: {list(JobType)}")
    return JobKinds(
        JobKind(
            name=t.value,
            queue=t.queue_name,
            processor=processors[t],
            concurrency=concurrency(settings, t),
        )
        for t in JobType
        if t in processors
    )
