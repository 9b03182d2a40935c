"""index of pending jobs per owner (the per-user cap's count on every submit)

Partial: only pending rows are in it, so it stays small and a row leaving `pending`
costs no index write.

Revision ID: 20251118100000
Revises: 20251118000000
Create Date: 2025-11-18 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20251118100000"
down_revision = "20251118000000"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_jobs_owner_pending",
        "jobs",
        ["owner_id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_pending", "jobs")
