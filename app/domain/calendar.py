"""UK working-day calendars.

Pure rules: standard library plus the ``holidays`` package; never reads the clock.

A working day is a weekday that is not a bank holiday of the chosen UK calendar
(including substitute days and one-off holidays such as state funerals,
coronations and jubilees) and not one of the operator's extra closure days.

Counting convention (see docs "Deadlines: the rules"): the start day itself is
never counted, so the first working day *after* ``start`` is day 1.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from types import MappingProxyType

import holidays

__all__ = [
    "CALENDARS",
    "NonWorkingDay",
    "UnknownCalendar",
    "WorkingDayCalendar",
    "get_calendar",
]

CALENDARS = ("england-and-wales", "scotland", "northern-ireland")

# Public calendar name -> ISO 3166-2 subdivision code used by ``holidays`` for GB.
# England and Wales share the same bank holidays; the library models them as ENG/WLS.
_SUBDIVISIONS: Mapping[str, str] = MappingProxyType(
    {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
)

_WEEKDAY_NAMES = {5: "Saturday", 6: "Sunday"}


class UnknownCalendar(ValueError):
    """Raised for a calendar name not in :data:`CALENDARS`."""


@dataclass(frozen=True)
class NonWorkingDay:
    day: date
    reason: str  # "Saturday", "Sunday" or the holiday's name


def _uk_label(name: str) -> str:
    """Use GOV.UK wording: the library labels substitute days "(observed)"."""
    return name.replace(" (observed)", " (substitute day)")


@cache
def _bank_holidays(subdiv: str, year: int) -> Mapping[date, str]:
    """Bank holidays falling in ``year`` for a GB subdivision, as an immutable dict.

    Neighbouring years are generated too, so a substitute day that spills over a
    year end is attributed to the year it falls in. A fresh, non-expanding
    ``holidays`` object is built per call because those objects mutate themselves
    on lookup and are not safe to share between threads.
    """
    years = [y for y in (year - 1, year, year + 1) if date.min.year <= y <= date.max.year]
    source = holidays.country_holidays("GB", subdiv=subdiv, years=years, expand=False)
    return MappingProxyType(
        {day: _uk_label(name) for day, name in sorted(source.items()) if day.year == year}
    )


def _check_date(value: object, what: str) -> None:
    # datetime is a date subclass but never compares equal to one: reject it early.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime.date, got {type(value).__name__}")


def _check_name(name: str) -> None:
    if name not in _SUBDIVISIONS:
        raise UnknownCalendar(f"unknown calendar {name!r}; expected one of {', '.join(CALENDARS)}")


class WorkingDayCalendar:
    """Working days for one UK calendar plus optional operator closure days.

    Per year, the non-working days and a sorted list of working-day ordinals are
    computed once; counting and stepping then use binary search, so
    ``add_working_days`` and ``working_days_between`` cost a few bisects rather
    than a day-by-day walk.
    """

    name: str

    def __init__(self, name: str, extra_non_working_days: Mapping[date, str] | None = None) -> None:
        _check_name(name)
        extras = dict(extra_non_working_days or {})
        for day in extras:
            _check_date(day, "extra non-working day")
        self.name = name
        self._subdiv = _SUBDIVISIONS[name]
        self._extras: Mapping[date, str] = MappingProxyType(extras)
        self._holidays_by_year: dict[int, Mapping[date, str]] = {}
        self._working_by_year: dict[int, list[int]] = {}

    def __repr__(self) -> str:
        return f"WorkingDayCalendar({self.name!r}, extra_non_working_days={dict(self._extras)!r})"

    @property
    def extra_non_working_days(self) -> Mapping[date, str]:
        return self._extras

    # -- per-year caches -------------------------------------------------

    def _holidays(self, year: int) -> Mapping[date, str]:
        """Bank holidays merged with the operator's extra days for ``year``."""
        found = self._holidays_by_year.get(year)
        if found is None:
            merged = dict(_bank_holidays(self._subdiv, year))
            for day, reason in self._extras.items():
                if day.year == year:
                    merged[day] = f"{merged[day]}; {reason}" if day in merged else reason
            found = self._holidays_by_year[year] = MappingProxyType(merged)
        return found

    def _working(self, year: int) -> list[int]:
        """Sorted ordinals of the working days of ``year``."""
        found = self._working_by_year.get(year)
        if found is None:
            off = self._holidays(year)
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            found = [
                o for o in range(first, last + 1) if (d := date.fromordinal(o)).weekday() < 5 and d not in off
            ]
            self._working_by_year[year] = found
        return found

    # -- single days -----------------------------------------------------

    def non_working_reason(self, day: date) -> str | None:
        """Why ``day`` is not a working day, or ``None`` when it is one.

        A holiday's name wins over the weekday, so a Christmas Day falling on a
        Saturday reads "Christmas Day" (its substitute then reads
        "Christmas Day (substitute day)").
        """
        _check_date(day, "day")
        name = self._holidays(day.year).get(day)
        if name is not None:
            return name
        return _WEEKDAY_NAMES.get(day.weekday())

    def is_working_day(self, day: date) -> bool:
        return self.non_working_reason(day) is None

    # -- ranges ----------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts).

        ``n == 0`` returns ``start`` unchanged, even if it is not a working day.
        """
        _check_date(start, "start")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return start
        year = start.year
        working = self._working(year)
        index = bisect_right(working, start.toordinal())
        remaining = n
        while remaining > len(working) - index:
            remaining -= len(working) - index
            year += 1
            working = self._working(year)  # raises ValueError past date.max
            index = 0
        return date.fromordinal(working[index + remaining - 1])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start < d <= end``; negated when ``end < start``.

        Inverse of :meth:`add_working_days`: ``add_working_days(s, n) == e``
        implies ``working_days_between(s, e) == n``.
        """
        _check_date(start, "start")
        _check_date(end, "end")
        if end < start:
            return -self.working_days_between(end, start)
        if start.year == end.year:
            working = self._working(start.year)
            return bisect_right(working, end.toordinal()) - bisect_right(working, start.toordinal())
        first = self._working(start.year)
        count = len(first) - bisect_right(first, start.toordinal())
        count += sum(len(self._working(y)) for y in range(start.year + 1, end.year))
        count += bisect_right(self._working(end.year), end.toordinal())
        return count

    def working_days(self, start: date, end: date) -> list[date]:
        """The working days ``d`` with ``start < d <= end``, in order."""
        _check_date(start, "start")
        _check_date(end, "end")
        result: list[date] = []
        lo, hi = start.toordinal(), end.toordinal()
        for year in range(start.year, end.year + 1):
            working = self._working(year)
            i, j = bisect_right(working, lo), bisect_right(working, hi)
            result.extend(date.fromordinal(o) for o in working[i:j])
        return result

    def skipped_days(self, start: date, end: date) -> list[NonWorkingDay]:
        """The non-working days ``d`` with ``start < d <= end``, in order, with reasons."""
        _check_date(start, "start")
        _check_date(end, "end")
        skipped: list[NonWorkingDay] = []
        for ordinal in range(start.toordinal() + 1, end.toordinal() + 1):
            day = date.fromordinal(ordinal)
            reason = self.non_working_reason(day)
            if reason is not None:
                skipped.append(NonWorkingDay(day, reason))
        return skipped


@lru_cache(maxsize=256)
def _cached_calendar(name: str, extras: frozenset[tuple[date, str]]) -> WorkingDayCalendar:
    return WorkingDayCalendar(name, dict(extras))


def get_calendar(name: str, extra_non_working_days: Mapping[date, str] | None = None) -> WorkingDayCalendar:
    """A shared calendar instance per (name, extra days), so per-year caches are reused."""
    _check_name(name)  # fail before touching the cache
    return _cached_calendar(name, frozenset((extra_non_working_days or {}).items()))
