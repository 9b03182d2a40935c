"""How values look in every answer."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as the job rows show their timestamps."""
    return value.isoformat().replace("+00:00", "Z") if value else None
