"""Deadline rules: action-plan due dates and states, recommendation RAG status.

Dates are real England-and-Wales dates around May 2023:
Mon 1 May (May Day) and Mon 8 May (coronation) are bank holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.calendar import CALENDARS, NonWorkingDay, WorkingDayCalendar, get_calendar
from app.domain.deadlines import (
    DONE_STATUSES,
    ActionPlanState,
    ActionPlanStatus,
    DeadlineState,
    Rag,
    Status,
    action_plan_due_date,
    action_plan_state,
    deadline_state,
    due_soon_threshold,
    explain_action_plan_deadline,
)

D = date
EW = get_calendar("england-and-wales")


# -- due date and explanation ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "received", "working_days", "due"),
    [
        ("england-and-wales", D(2018, 5, 4), 20, D(2018, 6, 5)),  # Kirklees, see test_calendar
        ("scotland", D(2018, 5, 4), 20, D(2018, 6, 5)),  # same holidays in that window
        ("england-and-wales", D(2023, 5, 6), 1, D(2023, 5, 9)),  # received Saturday before coronation
        ("england-and-wales", D(2023, 5, 8), 1, D(2023, 5, 9)),  # received on the coronation holiday
        ("scotland", D(2023, 4, 6), 2, D(2023, 4, 11)),  # Good Friday off, Easter Monday worked
        ("northern-ireland", D(2023, 4, 6), 2, D(2023, 4, 12)),  # both off
        ("england-and-wales", D(2021, 12, 23), 5, D(2022, 1, 4)),  # across the year end
        ("england-and-wales", D(2023, 5, 5), 0, D(2023, 5, 5)),
    ],
)
def test_action_plan_due_date(name: str, received: date, working_days: int, due: date) -> None:
    assert action_plan_due_date(received, working_days, get_calendar(name)) == due


def test_explain_kirklees() -> None:
    explanation = explain_action_plan_deadline(D(2018, 5, 4), 20, EW)
    assert explanation.received_date == D(2018, 5, 4)
    assert explanation.working_days == 20
    assert explanation.due_date == D(2018, 6, 5)
    assert len(explanation.counted_days) == 20
    assert explanation.counted_days[0] == D(2018, 5, 8)
    assert explanation.counted_days[-1] == D(2018, 6, 5)
    holidays = [s for s in explanation.skipped_days if s.reason not in ("Saturday", "Sunday")]
    assert holidays == [
        NonWorkingDay(D(2018, 5, 7), "May Day"),
        NonWorkingDay(D(2018, 5, 28), "Spring Bank Holiday"),
    ]
    # 5 weekends (5/6, 12/13, 19/20, 26/27 May, 2/3 June) and 2 bank holidays.
    assert len(explanation.skipped_days) == 12
    assert (
        len(explanation.counted_days) + len(explanation.skipped_days) == (D(2018, 6, 5) - D(2018, 5, 4)).days
    )


def test_explain_zero_days() -> None:
    explanation = explain_action_plan_deadline(D(2023, 5, 6), 0, EW)
    assert explanation.due_date == D(2023, 5, 6)
    assert explanation.counted_days == []
    assert explanation.skipped_days == []


# -- action-plan state -------------------------------------------------------------

DUE = D(2023, 5, 19)  # a Friday
S = ActionPlanState

ACTION_PLAN_TABLE: list[tuple[str, date | None, date, int, ActionPlanStatus]] = [
    # id, submitted, today, due_soon_working_days, expected
    (
        "on time, early",
        D(2023, 5, 10),
        D(2023, 5, 25),
        10,
        ActionPlanStatus(S.SUBMITTED_ON_TIME, DUE, None, None),
    ),
    ("on time, on the day", DUE, DUE, 10, ActionPlanStatus(S.SUBMITTED_ON_TIME, DUE, None, None)),
    ("late by one", D(2023, 5, 22), D(2023, 5, 25), 10, ActionPlanStatus(S.SUBMITTED_LATE, DUE, 1, None)),
    (
        "late on the saturday",
        D(2023, 5, 20),
        D(2023, 5, 25),
        10,
        ActionPlanStatus(S.SUBMITTED_LATE, DUE, 0, None),
    ),
    (
        "late submitted today",
        D(2023, 5, 26),
        D(2023, 5, 26),
        10,
        ActionPlanStatus(S.SUBMITTED_LATE, DUE, 5, None),
    ),
    # A submission dated after `today` is ignored: we are answering for the past.
    (
        "future submission ignored",
        D(2023, 5, 18),
        D(2023, 5, 15),
        10,
        ActionPlanStatus(S.DUE_SOON, DUE, None, 4),
    ),
    (
        "future submission, overdue",
        D(2023, 5, 24),
        D(2023, 5, 23),
        10,
        ActionPlanStatus(S.OVERDUE, DUE, 2, None),
    ),
    ("overdue", None, D(2023, 5, 22), 10, ActionPlanStatus(S.OVERDUE, DUE, 1, None)),
    ("overdue on the saturday", None, D(2023, 5, 20), 10, ActionPlanStatus(S.OVERDUE, DUE, 0, None)),
    ("due today", None, DUE, 10, ActionPlanStatus(S.DUE_SOON, DUE, None, 0)),
    # Thu 4 May -> Fri 19 May: 5, 9-12, 15-19 May = 10 working days (8 May is off).
    ("due soon at the limit", None, D(2023, 5, 4), 10, ActionPlanStatus(S.DUE_SOON, DUE, None, 10)),
    ("not yet due past the limit", None, D(2023, 5, 3), 10, ActionPlanStatus(S.NOT_YET_DUE, DUE, None, 11)),
    (
        "not yet due, from a bank holiday",
        None,
        D(2023, 5, 1),
        10,
        ActionPlanStatus(S.NOT_YET_DUE, DUE, None, 13),
    ),
    ("threshold 0, day before", None, D(2023, 5, 18), 0, ActionPlanStatus(S.NOT_YET_DUE, DUE, None, 1)),
    ("threshold 0, on the day", None, DUE, 0, ActionPlanStatus(S.DUE_SOON, DUE, None, 0)),
]


@pytest.mark.parametrize(
    ("submitted", "today", "n", "expected"),
    [r[1:] for r in ACTION_PLAN_TABLE],
    ids=[r[0] for r in ACTION_PLAN_TABLE],
)
def test_action_plan_state(submitted: date | None, today: date, n: int, expected: ActionPlanStatus) -> None:
    got = action_plan_state(due=DUE, submitted=submitted, today=today, calendar=EW, due_soon_working_days=n)
    assert got == expected


def test_action_plan_state_covers_every_state() -> None:
    assert {row[-1].state for row in ACTION_PLAN_TABLE} == set(ActionPlanState)


def test_action_plan_state_rejects_negative_threshold() -> None:
    with pytest.raises(ValueError):
        action_plan_state(due=DUE, submitted=None, today=DUE, calendar=EW, due_soon_working_days=-1)


# -- recommendation deadline state ---------------------------------------------------

NS, IP, IMP, VER, CNI = (
    Status.NOT_STARTED,
    Status.IN_PROGRESS,
    Status.IMPLEMENTED,
    Status.VERIFIED,
    Status.CLOSED_NOT_IMPLEMENTED,
)

DEADLINE_TABLE: list[tuple[str, date | None, Status, date, DeadlineState]] = [
    # id, due, status, today, expected(overdue, days_overdue, working_days_overdue, due_soon, rag)
    ("no due date", None, NS, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.GREEN)),
    ("no due date, verified", None, VER, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.BLUE)),
    ("no due date, closed", None, CNI, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.GREY)),
    ("overdue, not started", DUE, NS, D(2023, 5, 22), DeadlineState(True, 3, 1, False, Rag.RED)),
    (
        "overdue over a bank holiday",
        D(2023, 5, 5),
        IP,
        D(2023, 5, 9),
        DeadlineState(True, 4, 1, False, Rag.RED),
    ),
    ("overdue on the saturday", DUE, IP, D(2023, 5, 20), DeadlineState(True, 1, 0, False, Rag.RED)),
    ("past due, implemented", DUE, IMP, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.GREEN)),
    ("past due, verified", DUE, VER, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.BLUE)),
    ("past due, closed", DUE, CNI, D(2023, 5, 22), DeadlineState(False, 0, 0, False, Rag.GREY)),
    ("due today", DUE, IP, DUE, DeadlineState(False, 0, 0, True, Rag.AMBER)),
    ("due in 10 working days", DUE, NS, D(2023, 5, 4), DeadlineState(False, 0, 0, True, Rag.AMBER)),
    ("due in 11 working days", DUE, NS, D(2023, 5, 3), DeadlineState(False, 0, 0, False, Rag.GREEN)),
    # Due Sat 20 May: still only 10 working days from Thu 4 May, so due soon.
    ("due on a saturday", D(2023, 5, 20), NS, D(2023, 5, 4), DeadlineState(False, 0, 0, True, Rag.AMBER)),
    ("due soon, implemented", DUE, IMP, D(2023, 5, 15), DeadlineState(False, 0, 0, False, Rag.GREEN)),
    ("due soon, verified", DUE, VER, D(2023, 5, 15), DeadlineState(False, 0, 0, False, Rag.BLUE)),
    ("due soon, closed", DUE, CNI, D(2023, 5, 15), DeadlineState(False, 0, 0, False, Rag.GREY)),
    ("far off", D(2023, 12, 1), IP, D(2023, 5, 15), DeadlineState(False, 0, 0, False, Rag.GREEN)),
]


@pytest.mark.parametrize(
    ("due", "status", "today", "expected"),
    [r[1:] for r in DEADLINE_TABLE],
    ids=[r[0] for r in DEADLINE_TABLE],
)
def test_deadline_state(due: date | None, status: Status, today: date, expected: DeadlineState) -> None:
    assert deadline_state(due=due, status=status, today=today, calendar=EW) == expected


def test_deadline_state_covers_every_colour_and_status() -> None:
    assert {row[-1].rag for row in DEADLINE_TABLE} == set(Rag)
    assert {row[2] for row in DEADLINE_TABLE} == set(Status)


def test_deadline_state_accepts_status_strings() -> None:
    got = deadline_state(due=DUE, status="in_progress", today=D(2023, 5, 22), calendar=EW)  # type: ignore[arg-type]
    assert got.rag is Rag.RED
    with pytest.raises(ValueError):
        deadline_state(due=DUE, status="done", today=DUE, calendar=EW)  # type: ignore[arg-type]


def test_done_statuses() -> None:
    assert {Status.IMPLEMENTED, Status.VERIFIED, Status.CLOSED_NOT_IMPLEMENTED} == DONE_STATUSES


# -- due-soon threshold -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "n", "threshold"),
    [
        # Wed 3 May + 10 working days = Thu 18 May; the 11th is Fri 19 May.
        (D(2023, 5, 3), 10, D(2023, 5, 18)),
        # Thu 4 May + 10 = Fri 19 May; the 11th is Mon 22 May, so the weekend still counts.
        (D(2023, 5, 4), 10, D(2023, 5, 21)),
        (D(2023, 5, 19), 0, D(2023, 5, 21)),  # N=0 on a Friday: today and the weekend
        (D(2023, 5, 17), 0, D(2023, 5, 17)),
        (D(2023, 5, 5), 0, D(2023, 5, 8)),  # Fri before the coronation Monday
    ],
)
def test_due_soon_threshold(today: date, n: int, threshold: date) -> None:
    assert due_soon_threshold(today, EW, n) == threshold


# -- properties -------------------------------------------------------------------------

calendars = st.sampled_from(CALENDARS).map(get_calendar)
days = st.dates(min_value=D(1975, 1, 1), max_value=D(2075, 12, 31))
offsets = st.integers(min_value=-60, max_value=60)
thresholds = st.integers(min_value=0, max_value=30)
open_statuses = st.sampled_from([NS, IP])


@given(calendars, days, offsets, thresholds, open_statuses)
def test_threshold_agrees_with_deadline_state(
    calendar: WorkingDayCalendar, today: date, offset: int, n: int, status: Status
) -> None:
    due = today + timedelta(days=offset)
    threshold = due_soon_threshold(today, calendar, n)
    state = deadline_state(due=due, status=status, today=today, calendar=calendar, due_soon_working_days=n)
    assert state.overdue == (due < today)
    assert state.due_soon == (today <= due <= threshold)
    assert state.rag == (Rag.RED if state.overdue else Rag.AMBER if state.due_soon else Rag.GREEN)


@given(calendars, days, thresholds)
def test_threshold_is_last_day_within_n(calendar: WorkingDayCalendar, today: date, n: int) -> None:
    threshold = due_soon_threshold(today, calendar, n)
    assert threshold >= today
    assert calendar.working_days_between(today, threshold) == n
    assert calendar.working_days_between(today, threshold + timedelta(days=1)) == n + 1


@given(calendars, days, offsets, thresholds)
def test_action_plan_state_agrees_with_deadline_state(
    calendar: WorkingDayCalendar, today: date, offset: int, n: int
) -> None:
    due = today + timedelta(days=offset)
    plan = action_plan_state(due=due, submitted=None, today=today, calendar=calendar, due_soon_working_days=n)
    rec = deadline_state(due=due, status=NS, today=today, calendar=calendar, due_soon_working_days=n)
    assert (plan.state is ActionPlanState.OVERDUE) == rec.overdue
    assert (plan.state is ActionPlanState.DUE_SOON) == rec.due_soon
    if rec.overdue:
        assert plan.working_days_late == rec.working_days_overdue


@given(calendars, days, offsets)
def test_done_is_never_overdue_or_due_soon(calendar: WorkingDayCalendar, today: date, offset: int) -> None:
    for status in DONE_STATUSES:
        state = deadline_state(
            due=today + timedelta(days=offset), status=status, today=today, calendar=calendar
        )
        assert not state.overdue and not state.due_soon
        assert state.days_overdue == state.working_days_overdue == 0
