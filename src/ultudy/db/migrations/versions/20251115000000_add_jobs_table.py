"""add jobs table (the seed's first migration, plus attempts and updated_at)

Revision ID: 20251115000000
Revises:
Create Date: 2025-11-15 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ultudy.db.migrations.rls import disable_owner_rls, enable_scope_rls_v1
from ultudy.db.types import UTCDateTime

revision = "20251115000000"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("progress", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("progress_message", sa.Text()),
        sa.Column("input_data", sa.JSON(), nullable=False),
        sa.Column("result_data", sa.JSON()),
        sa.Column("error_message", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')",
            name="ck_jobs_status",
        ),
        sa.CheckConstraint(
            "type IN ('material_upload', 'lesson_generation', 'check_in_evaluation')",
            name="ck_jobs_type",
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="ck_jobs_progress"),
    )
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at"])
    op.create_index("ix_jobs_status_updated", "jobs", ["status", "updated_at"])
    enable_scope_rls_v1("jobs")


def downgrade() -> None:
    disable_owner_rls("jobs")
    op.drop_index("ix_jobs_status_updated", "jobs")
    op.drop_index("ix_jobs_owner_created", "jobs")
    op.drop_table("jobs")
