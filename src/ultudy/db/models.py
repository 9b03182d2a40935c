"""Tables. The `jobs` row is the source of truth for what a user sees about a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ultudy.db.types import UTCDateTime, utcnow

# Tables holding one owner's data; on PostgreSQL each has a FORCE row-level security policy.
OWNER_SCOPED_TABLES = (
    "jobs",
    "documents",
    "sections",
    "lessons",
    "concepts",
    "questions",
    "concept_mastery",
    "check_ins",
    "job_dependencies",
    "schedules",
    "notification_settings",
    "notifications",
)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
        Index("ix_jobs_status_updated", "status", "updated_at"),
        # Only pending rows: the per-user cap counts them on every submit.
        Index(
            "ix_jobs_owner_pending",
            "owner_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str | None] = mapped_column(Text)
    input_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Run inline by a sync endpoint in the API process: never enqueued, so the reconciler
    # leaves it alone unless it has been stuck far longer than any request can last.
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    # 0 = normal; 1-10 = background work, taken only when no normal job waits (1 first).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime | None]  # delayed job: not before this time
    # Pending, not enqueued: waits for the jobs it depends on (job_dependencies) to complete.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Some job depends on this one: its end settles them (jobs/dependencies.py).
    has_dependents: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class JobDependency(Base):
    """`job_id` runs only once `depends_on_id` (the same owner's job) has completed."""

    __tablename__ = "job_dependencies"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    owner_id: Mapped[str] = mapped_column(String(200))


def _fk(target: str) -> Any:
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), index=True)


def _made_by_job() -> Any:
    """The job whose run wrote the row: delivery is at-least-once, so a second run of the
    job finds its row by this unique key instead of writing another (NULL: no job)."""
    return mapped_column(Uuid, unique=True, index=True)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_owner_created", "owner_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int] = mapped_column(Integer)
    pages_without_text: Mapped[list[int]] = mapped_column(JSON)
    pages_read_by_model: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[uuid.UUID | None] = _made_by_job()


class Section(Base):
    __tablename__ = "sections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = _fk("documents.id")
    owner_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    page_start: Mapped[int] = mapped_column(Integer)
    page_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    char_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("section_id", "content_hash", "engine"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    section_id: Mapped[uuid.UUID] = _fk("sections.id")
    owner_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[uuid.UUID | None] = _made_by_job()


class Concept(Base):
    __tablename__ = "concepts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lesson_id: Mapped[uuid.UUID] = _fk("lessons.id")
    owner_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)


class Question(Base):
    """A check-in question; the answer key (answer_index, reference_answer) stays here."""

    __tablename__ = "questions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lesson_id: Mapped[uuid.UUID] = _fk("lessons.id")
    concept_id: Mapped[uuid.UUID] = _fk("concepts.id")
    owner_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    prompt: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(JSON)
    answer_index: Mapped[int | None] = mapped_column(Integer)
    reference_answer: Mapped[str | None] = mapped_column(Text)


class ConceptMastery(Base):
    __tablename__ = "concept_mastery"

    owner_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    concept_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True
    )
    p_known: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckIn(Base):
    __tablename__ = "check_ins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lesson_id: Mapped[uuid.UUID] = _fk("lessons.id")
    owner_id: Mapped[str] = mapped_column(String(200))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mastery before -> after per concept as this check-in moved it (its job's result).
    mastery: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    job_id: Mapped[uuid.UUID | None] = _made_by_job()


class Schedule(Base):
    """A user's repeating job: each tick makes an ordinary job row."""

    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_owner_created", "owner_id", "created_at"),
        Index("ix_schedules_next_run", "next_run_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text)
    job_type: Mapped[str] = mapped_column(String(40))
    input_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    cron: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    interval_s: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime] = mapped_column()
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationSetting(Base):
    __tablename__ = "notification_settings"

    owner_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # A digest job is queued and has not yet claimed this owner's waiting notifications.
    digest_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """One per job that earned an email; the job id as key makes it at most one."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_owner_status", "owner_id", "status"),)

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending, sending, sent, failed
    digest_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


jobs: Table = Job.__table__  # type: ignore[assignment]
job_dependencies: Table = JobDependency.__table__  # type: ignore[assignment]

documents: Table = Document.__table__  # type: ignore[assignment]
sections: Table = Section.__table__  # type: ignore[assignment]
lessons: Table = Lesson.__table__  # type: ignore[assignment]
concepts: Table = Concept.__table__  # type: ignore[assignment]
questions: Table = Question.__table__  # type: ignore[assignment]
concept_mastery: Table = ConceptMastery.__table__  # type: ignore[assignment]
check_ins: Table = CheckIn.__table__  # type: ignore[assignment]
schedules: Table = Schedule.__table__  # type: ignore[assignment]
notification_settings: Table = NotificationSetting.__table__  # type: ignore[assignment]
notifications: Table = Notification.__table__  # type: ignore[assignment]
