"""When a schedule runs: a cron expression in a time zone, or a fixed interval. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ultudy.errors import JobInputError

MAX_INTERVAL_S = 366 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class Cadence:
    cron: str | None = None
    interval_s: int | None = None
    timezone: str = "UTC"

    @classmethod
    def checked(
        cls,
        *,
        cron: str | None,
        interval_s: int | None,
        timezone: str = "UTC",
        min_interval_s: int,
    ) -> Cadence:
        """The cadence, or JobInputError saying what is wrong with it."""
        if (cron is None) == (interval_s is None):
            raise JobInputError("give exactly one of cron (e.g. '0 19 * * *') and interval_s")
        zone = _zone(timezone)
        if cron is not None:
            cron = " ".join(cron.split())
            try:
                sim = CronSim(cron, datetime.now(zone))
                first, second = next(sim), next(sim)
            except (CronSimError, StopIteration) as exc:
                raise JobInputError(f"cron {cron!r} is not a valid expression: {exc}") from None
            if (second - first).total_seconds() < min_interval_s:
                raise JobInputError(f"cron {cron!r} runs more often than every {min_interval_s} s")
        elif interval_s is not None and not min_interval_s <= interval_s <= MAX_INTERVAL_S:
            raise JobInputError(
                f"interval_s must be between {min_interval_s} and {MAX_INTERVAL_S} seconds"
            )
        return cls(cron=cron, interval_s=interval_s, timezone=timezone)

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after `moment` (UTC)."""
        if self.interval_s is not None:
            return moment + timedelta(seconds=self.interval_s)
        assert self.cron is not None
        local = moment.astimezone(_zone(self.timezone))
        return next(CronSim(self.cron, local)).astimezone(UTC)

    def describe(self) -> str:
        if self.interval_s is not None:
            return f"every {self.interval_s} s"
        assert self.cron is not None
        try:
            said = CronSim(self.cron, datetime.now(UTC)).explain()
        except Exception:  # explain() covers most, not all, expressions
            said = self.cron
        return f"{said} ({self.timezone})"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise JobInputError(f"timezone {name!r} is not an IANA time zone name") from None
