"""row-level security without the settable system scope: the policies show a login only
its transaction's owner's rows, and the tables' owner (the system login) is not bound

Revision ID: 20251118000000
Revises: 20251117000000
Create Date: 2025-11-18 00:00:00
"""

from __future__ import annotations

from ultudy.db.migrations.rls import enable_owner_rls, enable_scope_rls_v1

# The owner-scoped tables as of this revision (not models.OWNER_SCOPED_TABLES, which grows).
TABLES = (
    "jobs",
    "documents",
    "sections",
    "lessons",
    "concepts",
    "questions",
    "concept_mastery",
    "check_ins",
)

revision = "20251118000000"
down_revision = "20251117000000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in TABLES:
        enable_owner_rls(table)


def downgrade() -> None:
    for table in TABLES:
        enable_scope_rls_v1(table)
