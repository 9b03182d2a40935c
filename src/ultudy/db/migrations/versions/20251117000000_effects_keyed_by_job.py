"""effects keyed by their job: `job_id` (unique) on documents, lessons and check_ins, and
what a redelivered job needs to return its first run's result (documents'
`pages_read_by_model`, check_ins' `mastery` changes)

Revision ID: 20251117000000
Revises: 20251116000000
Create Date: 2025-11-17 00:00:00

Columns are added in place (ALTER TABLE ADD COLUMN on both databases) and the unique keys
are unique indexes, not constraints: on SQLite a constraint would need the table copied,
and dropping `documents` there cascades to its sections. Row-level security policies are
per table, so they stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20251117000000"
down_revision = "20251116000000"
branch_labels = None
depends_on = None

KEYED_TABLES = ("documents", "lessons", "check_ins")
RESULT_COLUMNS = (("documents", "pages_read_by_model"), ("check_ins", "mastery"))


def upgrade() -> None:
    for table in KEYED_TABLES:
        # Nullable: rows from before, and rows written outside a job, have no job.
        op.add_column(table, sa.Column("job_id", sa.Uuid(), nullable=True))
        op.create_index(f"ix_{table}_job_id", table, ["job_id"], unique=True)
    for table, column in RESULT_COLUMNS:
        op.add_column(table, sa.Column(column, sa.JSON(), nullable=True))


def downgrade() -> None:
    for table, column in RESULT_COLUMNS:
        op.drop_column(table, column)
    for table in KEYED_TABLES:
        op.drop_index(f"ix_{table}_job_id", table)
        op.drop_column(table, "job_id")
