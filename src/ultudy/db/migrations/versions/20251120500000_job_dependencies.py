"""job dependencies: a job may wait for other jobs of its owner to complete

`job_dependencies` holds one row per (job, job it waits for); `jobs.blocked` marks a
pending job not yet enqueued because of them, `jobs.has_dependents` a job whose end must
settle the jobs that wait for it (jobs/dependencies.py).

Revision ID: 20251120500000
Revises: 20251119000000
Create Date: 2025-11-20 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ultudy.db.migrations.rls import disable_owner_rls, enable_owner_rls

revision = "20251120500000"
down_revision = "20251119000000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("has_dependents", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "job_dependencies",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("depends_on_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["depends_on_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id"),
    )
    op.create_index("ix_job_dependencies_depends_on_id", "job_dependencies", ["depends_on_id"])
    enable_owner_rls("job_dependencies")


def downgrade() -> None:
    disable_owner_rls("job_dependencies")
    op.drop_index("ix_job_dependencies_depends_on_id", "job_dependencies")
    op.drop_table("job_dependencies")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("has_dependents")
        batch_op.drop_column("blocked")
