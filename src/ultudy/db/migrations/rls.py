"""Row-level security statements shared by the migrations (PostgreSQL only).

The policy binds every login except the tables' owner (and superusers and BYPASSRLS roles,
which PostgreSQL never binds): the owner is the system login, which does cross-owner work.
"""

from __future__ import annotations

from alembic import op

OWNER_CONDITION = "owner_id = current_setting('ultudy.owner_id', true)"
# Until 20251118000000: also every row when `ultudy.scope` was 'system', a setting any
# login could give itself, and FORCEd, so that the owner was bound as well.
SCOPE_CONDITION_V1 = f"{OWNER_CONDITION} OR current_setting('ultudy.scope', true) = 'system'"


def _enable(table: str, *, force: bool, condition: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} {'' if force else 'NO '}FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} USING ({condition}) WITH CHECK ({condition})"
    )


def enable_owner_rls(table: str) -> None:
    """Rows of the transaction's `ultudy.owner_id` only, for every login but the owner."""
    _enable(table, force=False, condition=OWNER_CONDITION)


def enable_scope_rls_v1(table: str) -> None:
    """The first migrations' policy, kept as they ran (see SCOPE_CONDITION_V1)."""
    _enable(table, force=True, condition=SCOPE_CONDITION_V1)


def disable_owner_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
