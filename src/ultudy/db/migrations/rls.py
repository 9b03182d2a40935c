"""Row-level security statements shared by the migrations (PostgreSQL only)."""

from __future__ import annotations

from alembic import op

POLICY_CONDITION = (
    "owner_id = current_setting('ultudy.owner_id', true)"
    " OR current_setting('ultudy.scope', true) = 'system'"
)


def enable_owner_rls(table: str) -> None:
    """FORCE makes the policy apply to the table owner too; only superusers bypass it."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} "
        f"USING ({POLICY_CONDITION}) WITH CHECK ({POLICY_CONDITION})"
    )


def disable_owner_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
