"""When to try a delivery again, and when to give up on an endpoint."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Seconds before each attempt after the first failure: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # up to 20% either way, so endpoints that failed together are not retried together
DISABLE_AFTER = timedelta(days=5)
MAX_RETRY_AFTER = timedelta(hours=10)


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"0,5,300"`` -> (0, 5, 300): comma-separated seconds, each >= 0, at least one."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("the retry schedule needs at least one delay")
    delays = tuple(int(p) for p in parts)
    if any(d < 0 for d in delays):
        raise ValueError("retry delays must be >= 0 seconds")
    return delays


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """An HTTP Retry-After header (seconds or an HTTP date) as a wait, capped; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None or when.tzinfo is None:
            return None
        wait = max(when - now, timedelta(0))
    return min(wait, MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    disable_endpoint: bool
    next_attempt_at: datetime | None  # None: no further attempt


def outcome(
    *,
    status_code: int | None,
    attempts_made: int,
    schedule: tuple[int, ...],
    now: datetime,
    failing_since: datetime | None,
    retry_after_header: str | None = None,
    rand: random.Random | None = None,
) -> Outcome:
    """What follows an attempt. ``attempts_made`` counts it; ``status_code`` is None when no
    answer came (refused, timed out, unsafe address). The schedule's first entry is the
    first attempt's own delay, so ``schedule[attempts_made]`` is the wait before the next one."""
    if status_code is not None and 200 <= status_code < 300:
        return Outcome(True, False, None)
    if status_code == 410:
        return Outcome(False, True, None)
    if failing_since is not None and now - failing_since >= DISABLE_AFTER:
        return Outcome(False, True, None)
    if attempts_made >= len(schedule):
        return Outcome(False, False, None)
    delay = timedelta(seconds=schedule[attempts_made])
    delay *= 1 + (rand or random).uniform(-JITTER, JITTER)
    waited = retry_after(retry_after_header, now)
    if waited is not None:
        delay = max(delay, waited)
    return Outcome(False, False, now + delay)
