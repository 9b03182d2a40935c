"""jobs.type is any registered kind's name: drop the check that listed the study types

The job framework no longer knows the study app's types: the application registers its
kinds (`ultudy.jobs.types`), and a submit of an unregistered type is refused before any
row is written, so the database no longer repeats the list.

Revision ID: 20251119000000
Revises: 20251118100000
Create Date: 2025-11-19 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "20251119000000"
down_revision = "20251118100000"
branch_labels = None
depends_on = None

STUDY_TYPES = "type IN ('material_upload', 'lesson_generation', 'check_in_evaluation')"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("ck_jobs_type", type_="check")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_jobs_type", STUDY_TYPES)
