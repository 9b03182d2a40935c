"""The real processors, one per job type."""

from __future__ import annotations

from ultudy.jobs.context import Registry
from ultudy.kinds import JobType
from ultudy.processors import (
    check_in_evaluation,
    check_in_reminder,
    lesson_generation,
    material_upload,
    notification,
)

REGISTRY: Registry = {
    JobType.MATERIAL_UPLOAD: material_upload.process,
    JobType.LESSON_GENERATION: lesson_generation.process,
    JobType.CHECK_IN_EVALUATION: check_in_evaluation.process,
    JobType.CHECK_IN_REMINDER: check_in_reminder.process,
    JobType.NOTIFICATION: notification.process,
}
