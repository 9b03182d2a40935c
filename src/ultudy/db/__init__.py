"""SQL storage: engine and owner-scoped transactions, models, Alembic migrations."""

from ultudy.db.engine import Database

__all__ = ["Database"]
