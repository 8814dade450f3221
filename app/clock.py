"""The one place that reads the clock.

Everything else takes ``today`` or ``now`` as an argument; the API gets them
through the ``ClockDep`` dependency, which tests override.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Clock:
    timezone: str = "Europe/London"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        """Today's date where the service's users are (Europe/London by default)."""
        return self.now().astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock stopped at one instant: for tests and reproducible commands."""

    at: datetime = datetime(2018, 5, 4, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at
