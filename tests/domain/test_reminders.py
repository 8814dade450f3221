"""Reminder rules, in the England-and-Wales calendar of May 2023: Mon 1 May (May Day),
Mon 8 May (the coronation) and Mon 29 May (spring) are bank holidays."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.calendar import CALENDARS, get_calendar
from app.domain.reminders import (
    ReminderPolicy,
    Rule,
    action_plan_reminders,
    due_soon,
    overdue,
    recommendation_reminders,
    weekly_from,
)

D = date
EW = get_calendar("england-and-wales")
POLICY = ReminderPolicy()


def _days(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("due", "fires_on"),
    [
        # 5 working days before Fri 12 May skips the coronation: Thu 4 May; 1 before: Thu 11.
        (D(2023, 5, 12), [D(2023, 5, 4), D(2023, 5, 11)]),
        # Due Tue 2 May: 5 before is Mon 24 Apr, 1 before Fri 28 Apr (the weekend and May Day skipped).
        (D(2023, 5, 2), [D(2023, 4, 24), D(2023, 4, 28)]),
        # Due on a Saturday: the working days up to it count, Friday the last, so Fri 12 and Thu 18.
        (D(2023, 5, 20), [D(2023, 5, 12), D(2023, 5, 18)]),
    ],
)
def test_due_soon_fires_five_and_one_working_days_before(due, fires_on):
    assert [
        d for d in _days(due - timedelta(days=40), due + timedelta(days=5)) if due_soon(due, d, EW, POLICY)
    ] == fires_on


@pytest.mark.parametrize(
    ("due", "first_fires"),
    [
        # Due Fri 12 May: overdue from Sat 13, so first told Mon 15, then Mon 22, then Tue 30 May
        # (Mon 29 is a bank holiday), then Mon 5 June.
        (D(2023, 5, 12), [D(2023, 5, 15), D(2023, 5, 22), D(2023, 5, 30), D(2023, 6, 5)]),
        # Due Thu 4 May: Fri 5, then each Friday.
        (D(2023, 5, 4), [D(2023, 5, 5), D(2023, 5, 12), D(2023, 5, 19), D(2023, 5, 26)]),
        # Due Fri 28 Apr: Sat 29 starts it; Mon 1 May is May Day, so Tue 2, then Tue 9 (after the
        # coronation Monday), then Mon 15, Mon 22.
        (D(2023, 4, 28), [D(2023, 5, 2), D(2023, 5, 9), D(2023, 5, 15), D(2023, 5, 22)]),
    ],
)
def test_overdue_fires_on_the_first_working_day_then_weekly(due, first_fires):
    fired = [d for d in _days(due - timedelta(days=3), due + timedelta(days=40)) if overdue(due, d, EW)]
    assert fired[:4] == first_fires


def test_a_recommendation_owner_gets_each_rule_that_applies():
    # No progress since Sat 1 April: stale from Mon 1 May (a holiday), so Tue 2 May.
    args = {
        "due": D(2023, 5, 2),
        "done": False,
        "last_progress_on": D(2023, 4, 1),
        "calendar": EW,
        "policy": POLICY,
    }
    assert recommendation_reminders(today=D(2023, 4, 28), **args) == [Rule.DUE_SOON]
    assert recommendation_reminders(today=D(2023, 5, 2), **args) == [Rule.STALE]
    assert recommendation_reminders(today=D(2023, 5, 3), **args) == [Rule.OVERDUE]
    assert recommendation_reminders(today=D(2023, 5, 4), **args) == []
    assert recommendation_reminders(today=D(2023, 5, 2), **{**args, "done": True}) == []
    # A non-working day never reminds.
    assert recommendation_reminders(today=D(2023, 5, 8), **args) == []


def test_the_action_plan_reminds_until_it_is_submitted():
    args = {"due": D(2023, 5, 12), "calendar": EW, "policy": POLICY}
    assert action_plan_reminders(submitted=None, today=D(2023, 5, 11), **args) == [Rule.ACTION_PLAN_DUE_SOON]
    assert action_plan_reminders(submitted=None, today=D(2023, 5, 15), **args) == [Rule.ACTION_PLAN_OVERDUE]
    assert action_plan_reminders(submitted=D(2023, 5, 10), today=D(2023, 5, 15), **args) == []
    # A submission dated after the day asked about does not count yet.
    assert action_plan_reminders(submitted=D(2023, 5, 20), today=D(2023, 5, 15), **args) == [
        Rule.ACTION_PLAN_OVERDUE
    ]


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        ReminderPolicy(due_soon_working_days=(0,))
    with pytest.raises(ValueError):
        ReminderPolicy(stale_days=0)


@given(
    due=st.dates(min_value=D(2019, 1, 1), max_value=D(2030, 12, 31)),
    n=st.integers(min_value=1, max_value=20),
    name=st.sampled_from(sorted(CALENDARS)),
)
def test_due_soon_fires_on_exactly_one_working_day_per_number(due, n, name):
    calendar = get_calendar(name)
    policy = ReminderPolicy(due_soon_working_days=(n,))
    fired = [d for d in _days(due - timedelta(days=60), due) if due_soon(due, d, calendar, policy)]
    assert len(fired) == 1
    assert calendar.is_working_day(fired[0]) and calendar.working_days_between(fired[0], due) == n


@given(
    start=st.dates(min_value=D(2019, 1, 1), max_value=D(2030, 12, 31)),
    weeks=st.integers(min_value=1, max_value=10),
    name=st.sampled_from(sorted(CALENDARS)),
)
def test_weekly_fires_once_a_week_on_working_days(start, weeks, name):
    calendar = get_calendar(name)
    fired = [
        d for d in _days(start, start + timedelta(days=7 * weeks - 1)) if weekly_from(start, d, calendar)
    ]
    assert all(calendar.is_working_day(d) for d in fired)
    # One a week; a holiday can push the last one past the window, never drop or double one.
    assert weeks - 1 <= len(fired) <= weeks
    assert all(later - earlier > timedelta(days=1) for earlier, later in zip(fired, fired[1:], strict=False))
