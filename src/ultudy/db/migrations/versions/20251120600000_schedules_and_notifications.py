"""repeating schedules, notification settings and the per-job notification ledger

`schedules`: a user's repeating job (cron or interval), its next tick claimed by one
conditional UPDATE. `notification_settings`: a user's email address and opt-in.
`notifications`: one row per job that earned an email (job id is the key: at most one
email per job), and the digest that sent it.

Revision ID: 20251120600000
Revises: 20251120500000
Create Date: 2025-11-20 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ultudy.db.migrations.rls import disable_owner_rls, enable_owner_rls
from ultudy.db.types import UTCDateTime

revision = "20251120600000"
down_revision = "20251120500000"
branch_labels = None
depends_on = None

TABLES = ("schedules", "notification_settings", "notifications")


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("job_type", sa.String(length=40), nullable=False),
        sa.Column("input_data", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_job_id", sa.Uuid(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_schedules_owner_created", "schedules", ["owner_id", "created_at"])
    op.create_index("ix_schedules_next_run", "schedules", ["next_run_at"])
    op.create_table(
        "notification_settings",
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_pending", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("digest_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_notifications_owner_status", "notifications", ["owner_id", "status"])
    for table in TABLES:
        enable_owner_rls(table)


def downgrade() -> None:
    for table in TABLES:
        disable_owner_rls(table)
    op.drop_table("notifications")
    op.drop_table("notification_settings")
    op.drop_table("schedules")
