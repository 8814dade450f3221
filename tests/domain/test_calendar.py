"""Working-day calendar rules, checked against real UK bank-holiday dates.

Expected holidays are the published GOV.UK bank holidays (cross-checked against
the installed ``holidays`` package, which the calendar uses).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.calendar import (
    CALENDARS,
    NonWorkingDay,
    UnknownCalendar,
    WorkingDayCalendar,
    get_calendar,
)

EW, SCT, NI = CALENDARS
D = date

# -- single days ---------------------------------------------------------------

# (day, {calendar: expected reason or None for a working day})
HOLIDAY_TABLE: list[tuple[date, str | None, str | None, str | None]] = [
    #  day            england-and-wales                    scotland                              northern-ireland
    # Christmas/Boxing Day 2021 on Sat/Sun -> substitutes Mon 27 and Tue 28 everywhere.
    (D(2021, 12, 25), "Christmas Day", "Christmas Day", "Christmas Day"),
    (
        D(2021, 12, 27),
        "Christmas Day (substitute day)",
        "Christmas Day (substitute day)",
        "Christmas Day (substitute day)",
    ),
    (
        D(2021, 12, 28),
        "Boxing Day (substitute day)",
        "Boxing Day (substitute day)",
        "Boxing Day (substitute day)",
    ),
    (D(2021, 12, 29), None, None, None),
    # 2022: Christmas on Sunday -> Boxing Day Mon 26, Christmas substitute Tue 27.
    (D(2022, 12, 26), "Boxing Day", "Boxing Day", "Boxing Day"),
    (
        D(2022, 12, 27),
        "Christmas Day (substitute day)",
        "Christmas Day (substitute day)",
        "Christmas Day (substitute day)",
    ),
    # Easter Monday: not a bank holiday in Scotland.
    (D(2023, 4, 10), "Easter Monday", None, "Easter Monday"),
    (D(2023, 4, 7), "Good Friday", "Good Friday", "Good Friday"),
    # Battle of the Boyne (NI only); on a Sunday in 2020 -> Monday 13 July.
    (D(2022, 7, 12), None, None, "Battle of the Boyne"),
    (D(2020, 7, 13), None, None, "Battle of the Boyne (substitute day)"),
    # St Patrick's Day (NI only); on a Saturday in 2018 -> Monday 19 March.
    (D(2022, 3, 17), None, None, "Saint Patrick's Day"),
    (D(2018, 3, 19), None, None, "Saint Patrick's Day (substitute day)"),
    # 2 January (Scotland only); 2021: Sat 2 Jan -> Mon 4 Jan.
    (D(2020, 1, 2), None, "New Year Holiday", None),
    (D(2021, 1, 4), None, "New Year Holiday (substitute day)", None),
    # 2022: 1 and 2 Jan on Sat/Sun -> Mon 3 everywhere, plus Tue 4 in Scotland.
    (
        D(2022, 1, 3),
        "New Year's Day (substitute day)",
        "New Year's Day (substitute day)",
        "New Year's Day (substitute day)",
    ),
    (D(2022, 1, 4), None, "New Year Holiday (substitute day)", None),
    # St Andrew's Day (Scotland only); on a Saturday in 2019 -> Monday 2 December.
    (D(2022, 11, 30), None, "Saint Andrew's Day", None),
    (D(2019, 12, 2), None, "Saint Andrew's Day (substitute day)", None),
    # Summer bank holiday: first Monday of August in Scotland, last Monday elsewhere.
    (D(2023, 8, 7), None, "Summer Bank Holiday", None),
    (D(2023, 8, 28), "Late Summer Bank Holiday", None, "Late Summer Bank Holiday"),
    # One-off holidays.
    (
        D(2022, 9, 19),
        "State Funeral of Queen Elizabeth II",
        "State Funeral of Queen Elizabeth II",
        "State Funeral of Queen Elizabeth II",
    ),
    (D(2023, 5, 8), "Coronation of Charles III", "Coronation of Charles III", "Coronation of Charles III"),
    (D(2022, 6, 2), "Spring Bank Holiday", "Spring Bank Holiday", "Spring Bank Holiday"),
    (
        D(2022, 6, 3),
        "Platinum Jubilee of Elizabeth II",
        "Platinum Jubilee of Elizabeth II",
        "Platinum Jubilee of Elizabeth II",
    ),
    (D(2022, 5, 30), None, None, None),  # the usual last-Monday-of-May date, moved that year
    # 2020: early May bank holiday moved from Monday 4 May to Friday 8 May (VE Day 75).
    (D(2020, 5, 8), "May Day", "May Day", "May Day"),
    (D(2020, 5, 4), None, None, None),
    (D(1999, 12, 31), "Millennium Celebrations", "Millennium Celebrations", "Millennium Celebrations"),
    # Years are not hard-coded: 2026 Boxing Day on a Saturday -> Monday 28 December.
    (
        D(2026, 12, 28),
        "Boxing Day (substitute day)",
        "Boxing Day (substitute day)",
        "Boxing Day (substitute day)",
    ),
    # Weekends; a holiday name wins over the weekday name.
    (D(2023, 5, 6), "Saturday", "Saturday", "Saturday"),
    (D(2023, 5, 7), "Sunday", "Sunday", "Sunday"),
    (D(2023, 5, 9), None, None, None),
]


@pytest.mark.parametrize(
    ("day", "ew", "sct", "ni"), HOLIDAY_TABLE, ids=[str(row[0]) for row in HOLIDAY_TABLE]
)
def test_non_working_reason(day: date, ew: str | None, sct: str | None, ni: str | None) -> None:
    for name, expected in ((EW, ew), (SCT, sct), (NI, ni)):
        calendar = get_calendar(name)
        assert calendar.non_working_reason(day) == expected, name
        assert calendar.is_working_day(day) is (expected is None), name


def test_scotland_new_year_2023_both_names() -> None:
    # Sun 1 Jan 2023: Mon 2 Jan is both "2nd January" and New Year's Day's substitute.
    calendar = get_calendar(SCT)
    assert not calendar.is_working_day(D(2023, 1, 2))
    assert calendar.non_working_reason(D(2023, 1, 3)) == "New Year Holiday (substitute day)"
    assert get_calendar(EW).is_working_day(D(2023, 1, 3))


# -- adding working days -------------------------------------------------------

ADD_TABLE: list[tuple[str, str, date, int, date]] = [
    # Kirklees: received Fri 4 May 2018, 20 working days, England and Wales.
    # Day 1 is Tue 8 May (Mon 7 May is the early May bank holiday).
    #   8-11 May -> days 1-4; 14-18 May -> 5-9; 21-25 May -> 10-14;
    #   Mon 28 May (spring bank holiday) skipped; 29 May-1 Jun -> 15-18;
    #   Mon 4 Jun -> 19; Tue 5 Jun -> 20.
    ("kirklees", EW, D(2018, 5, 4), 20, D(2018, 6, 5)),
    ("n=0 returns start", EW, D(2018, 5, 4), 0, D(2018, 5, 4)),
    ("n=0 keeps a non-working start", EW, D(2023, 5, 6), 0, D(2023, 5, 6)),
    ("plain weekday", EW, D(2023, 5, 9), 1, D(2023, 5, 10)),
    ("friday to monday", EW, D(2023, 5, 12), 1, D(2023, 5, 15)),
    # Received on a Saturday: counting starts from the next working day
    # (Mon 8 May 2023 is the coronation holiday, so day 1 is Tue 9 May).
    ("received saturday", EW, D(2023, 5, 6), 1, D(2023, 5, 9)),
    ("received saturday, 5", EW, D(2023, 5, 6), 5, D(2023, 5, 15)),
    # Received on the bank holiday itself: the same as the Saturday before.
    ("received bank holiday", EW, D(2023, 5, 8), 1, D(2023, 5, 9)),
    ("received bank holiday, 5", EW, D(2023, 5, 8), 5, D(2023, 5, 15)),
    # Easter Monday 2023 is a working day in Scotland only.
    ("easter E&W", EW, D(2023, 4, 6), 1, D(2023, 4, 11)),
    ("easter scotland", SCT, D(2023, 4, 6), 1, D(2023, 4, 10)),
    ("easter NI", NI, D(2023, 4, 6), 1, D(2023, 4, 11)),
    # Across the 2021/22 year end: 25-28 Dec and 1-3 Jan are off (4 Jan too in Scotland).
    ("year end E&W", EW, D(2021, 12, 23), 5, D(2022, 1, 4)),
    ("year end scotland", SCT, D(2021, 12, 23), 5, D(2022, 1, 5)),
    ("year end NI", NI, D(2021, 12, 23), 5, D(2022, 1, 4)),
    # Jubilee 2022: Thu 2 and Fri 3 June off.
    ("jubilee", EW, D(2022, 6, 1), 1, D(2022, 6, 6)),
    # State funeral: Mon 19 September 2022.
    ("state funeral", SCT, D(2022, 9, 16), 1, D(2022, 9, 20)),
    # VE Day 2020: Fri 8 May off, Mon 4 May worked.
    ("ve day", EW, D(2020, 5, 1), 5, D(2020, 5, 11)),
    # Battle of the Boyne 2022 (Tue 12 July) in NI only.
    ("boyne NI", NI, D(2022, 7, 11), 1, D(2022, 7, 13)),
    ("boyne E&W", EW, D(2022, 7, 11), 1, D(2022, 7, 12)),
    # Summer bank holiday 2023: Scotland 7 Aug, E&W 28 Aug.
    ("august scotland", SCT, D(2023, 8, 4), 1, D(2023, 8, 8)),
    ("august E&W", EW, D(2023, 8, 4), 1, D(2023, 8, 7)),
    ("late august scotland", SCT, D(2023, 8, 25), 1, D(2023, 8, 28)),
    # A full year from 2 Jan 2023 in E&W: 260 weekdays minus 9 weekday bank holidays = 251
    # working days in 2023, the last being Fri 29 Dec 2023 (Mon 1 Jan 2024 is off).
    ("a year", EW, D(2023, 1, 2), 251, D(2023, 12, 29)),
    ("a year and one", EW, D(2023, 1, 2), 252, D(2024, 1, 2)),
]


@pytest.mark.parametrize(
    ("name", "start", "n", "expected"), [r[1:] for r in ADD_TABLE], ids=[r[0] for r in ADD_TABLE]
)
def test_add_working_days(name: str, start: date, n: int, expected: date) -> None:
    calendar = get_calendar(name)
    assert calendar.add_working_days(start, n) == expected
    assert calendar.working_days_between(start, expected) == n
    if n:
        assert calendar.working_days_between(expected, start) == -n


def test_negative_n_rejected() -> None:
    with pytest.raises(ValueError):
        get_calendar(EW).add_working_days(D(2023, 1, 3), -1)


# -- between / skipped -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "end", "expected"),
    [
        (EW, D(2023, 5, 9), D(2023, 5, 9), 0),
        (EW, D(2023, 5, 5), D(2023, 5, 8), 0),  # Sat, Sun, coronation Monday
        (EW, D(2023, 5, 5), D(2023, 5, 9), 1),
        (EW, D(2023, 5, 9), D(2023, 5, 5), -1),
        (EW, D(2021, 12, 24), D(2022, 1, 3), 3),  # 29, 30, 31 Dec
        (SCT, D(2021, 12, 24), D(2022, 1, 4), 3),
        (EW, D(2022, 12, 31), D(2024, 1, 1), 251),  # all of 2023 in E&W
    ],
)
def test_working_days_between(name: str, start: date, end: date, expected: int) -> None:
    assert get_calendar(name).working_days_between(start, end) == expected


def test_skipped_days_over_year_end() -> None:
    skipped = get_calendar(EW).skipped_days(D(2021, 12, 24), D(2022, 1, 4))
    assert skipped == [
        NonWorkingDay(D(2021, 12, 25), "Christmas Day"),
        NonWorkingDay(D(2021, 12, 26), "Boxing Day"),
        NonWorkingDay(D(2021, 12, 27), "Christmas Day (substitute day)"),
        NonWorkingDay(D(2021, 12, 28), "Boxing Day (substitute day)"),
        NonWorkingDay(D(2022, 1, 1), "New Year's Day"),
        NonWorkingDay(D(2022, 1, 2), "Sunday"),
        NonWorkingDay(D(2022, 1, 3), "New Year's Day (substitute day)"),
    ]
    assert get_calendar(EW).skipped_days(D(2022, 1, 4), D(2021, 12, 24)) == []
    assert get_calendar(EW).working_days(D(2021, 12, 24), D(2022, 1, 4)) == [
        D(2021, 12, 29),
        D(2021, 12, 30),
        D(2021, 12, 31),
        D(2022, 1, 4),
    ]


# -- extra operator days and construction ----------------------------------------


def test_extra_non_working_days() -> None:
    extras = {
        D(2023, 12, 27): "Office closed",
        D(2023, 12, 28): "Office closed",
        D(2023, 12, 29): "Office closed",
        D(2023, 12, 25): "Office closed",  # overlaps a bank holiday: both names kept
    }
    plain = get_calendar(EW)
    closed = get_calendar(EW, extras)
    # Fri 22 Dec + 3: 27, 28, 29 Dec normally; with the closure 2, 3, 4 Jan 2024
    # (Mon 1 Jan 2024 is New Year's Day).
    assert plain.add_working_days(D(2023, 12, 22), 3) == D(2023, 12, 29)
    assert closed.add_working_days(D(2023, 12, 22), 3) == D(2024, 1, 4)
    assert closed.non_working_reason(D(2023, 12, 27)) == "Office closed"
    assert closed.non_working_reason(D(2023, 12, 25)) == "Christmas Day; Office closed"
    assert closed.working_days_between(D(2023, 12, 22), D(2024, 1, 4)) == 3
    # Extras never leak into the shared bank-holiday data.
    assert plain.is_working_day(D(2023, 12, 27))
    assert get_calendar(EW, dict(extras)) is closed
    assert get_calendar(EW) is plain


def test_unknown_calendar() -> None:
    for bad in ("wales", "england", "ENG", ""):
        with pytest.raises(UnknownCalendar):
            WorkingDayCalendar(bad)
        with pytest.raises(ValueError):
            get_calendar(bad)


def test_rejects_datetimes() -> None:
    with pytest.raises(TypeError):
        get_calendar(EW).is_working_day(datetime(2023, 5, 8))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WorkingDayCalendar(EW, {datetime(2023, 5, 9): "x"})  # type: ignore[dict-item]


def test_name_attribute() -> None:
    assert [get_calendar(n).name for n in CALENDARS] == list(CALENDARS)


# -- properties ------------------------------------------------------------------

calendars = st.sampled_from(CALENDARS).map(get_calendar)
days = st.dates(min_value=D(1975, 1, 1), max_value=D(2075, 12, 31))
counts = st.integers(min_value=0, max_value=400)


def _brute_between(calendar: WorkingDayCalendar, start: date, end: date) -> int:
    lo, hi, sign = (start, end, 1) if start <= end else (end, start, -1)
    return sign * sum(calendar.is_working_day(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))


@given(calendars, days, st.integers(min_value=1, max_value=400))
def test_add_lands_on_working_day(calendar: WorkingDayCalendar, start: date, n: int) -> None:
    end = calendar.add_working_days(start, n)
    assert end > start
    assert calendar.is_working_day(end)


@given(calendars, days, counts, counts)
def test_add_monotonic_in_n(calendar: WorkingDayCalendar, start: date, a: int, b: int) -> None:
    a, b = sorted((a, b))
    assert calendar.add_working_days(start, a) <= calendar.add_working_days(start, b)
    if a < b:
        assert calendar.add_working_days(start, a) < calendar.add_working_days(start, b)


@given(calendars, days, days, st.integers(min_value=1, max_value=400))
def test_add_monotonic_in_start(calendar: WorkingDayCalendar, s1: date, s2: date, n: int) -> None:
    s1, s2 = sorted((s1, s2))
    assert calendar.add_working_days(s1, n) <= calendar.add_working_days(s2, n)


@given(calendars, days, counts)
def test_between_inverts_add(calendar: WorkingDayCalendar, start: date, n: int) -> None:
    end = calendar.add_working_days(start, n)
    assert calendar.working_days_between(start, end) == n
    assert calendar.working_days_between(end, start) == -n
    # And the other way round: add_working_days finds the earliest such day.
    if n:
        assert calendar.working_days_between(start, end - timedelta(days=1)) == n - 1


@settings(max_examples=60)
@given(calendars, days, st.integers(min_value=-450, max_value=450))
def test_between_matches_day_by_day_count(calendar: WorkingDayCalendar, start: date, offset: int) -> None:
    end = start + timedelta(days=offset)
    assert calendar.working_days_between(start, end) == _brute_between(calendar, start, end)


@settings(max_examples=60)
@given(calendars, days, st.integers(min_value=0, max_value=450))
def test_counted_and_skipped_partition_the_range(
    calendar: WorkingDayCalendar, start: date, offset: int
) -> None:
    end = start + timedelta(days=offset)
    counted = calendar.working_days(start, end)
    skipped = [s.day for s in calendar.skipped_days(start, end)]
    assert sorted(counted + skipped) == [start + timedelta(days=i) for i in range(1, offset + 1)]
    assert len(counted) == calendar.working_days_between(start, end)
    assert all(calendar.non_working_reason(s.day) == s.reason for s in calendar.skipped_days(start, end))
