"""Deadline rules for action plans and recommendations.

Pure functions: every "today"-dependent figure takes ``today`` as an argument
(callers pass their ``as_of`` date); nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.calendar import NonWorkingDay, WorkingDayCalendar
from app.domain.status import DONE_STATUSES, Status

__all__ = [
    "DONE_STATUSES",
    "ActionPlanState",
    "ActionPlanStatus",
    "DeadlineExplanation",
    "DeadlineState",
    "Rag",
    "Status",
    "action_plan_due_date",
    "action_plan_state",
    "deadline_state",
    "due_soon_threshold",
    "explain_action_plan_deadline",
]


class ActionPlanState(StrEnum):
    NOT_YET_DUE = "not_yet_due"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUBMITTED_ON_TIME = "submitted_on_time"
    SUBMITTED_LATE = "submitted_late"


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    BLUE = "blue"
    GREY = "grey"


def _check_threshold(due_soon_working_days: int) -> None:
    if due_soon_working_days < 0:
        raise ValueError(f"due_soon_working_days must be >= 0, got {due_soon_working_days}")


# -- action-plan due date ------------------------------------------------------


def action_plan_due_date(received: date, working_days: int, calendar: WorkingDayCalendar) -> date:
    """Received date + ``working_days`` working days; the day of receipt is not counted."""
    return calendar.add_working_days(received, working_days)


@dataclass(frozen=True)
class DeadlineExplanation:
    received_date: date
    working_days: int
    due_date: date
    counted_days: list[date]  # the working days 1..N, in order
    skipped_days: list[NonWorkingDay]  # weekends/holidays between receipt and due date


def explain_action_plan_deadline(
    received: date, working_days: int, calendar: WorkingDayCalendar
) -> DeadlineExplanation:
    due = action_plan_due_date(received, working_days, calendar)
    return DeadlineExplanation(
        received_date=received,
        working_days=working_days,
        due_date=due,
        counted_days=calendar.working_days(received, due),
        skipped_days=calendar.skipped_days(received, due),
    )


# -- due soon ------------------------------------------------------------------


def _is_due_soon(due: date, today: date, calendar: WorkingDayCalendar, n: int) -> bool:
    """``due`` is today or later and at most ``n`` working days away."""
    return due >= today and calendar.working_days_between(today, due) <= n


def due_soon_threshold(today: date, calendar: WorkingDayCalendar, due_soon_working_days: int) -> date:
    """The last due date that still counts as due soon as of ``today``.

    An open item is due soon exactly when ``today <= due <= threshold`` (and
    overdue when ``due < today``), so SQL filters can use plain date comparisons.

    This is the day *before* the (N+1)-th working day, not the N-th working day
    itself: non-working days right after the N-th working day are still only N
    working days away (e.g. a Saturday after a Friday threshold).
    """
    _check_threshold(due_soon_working_days)
    return calendar.add_working_days(today, due_soon_working_days + 1) - timedelta(days=1)


# -- action-plan state ---------------------------------------------------------


@dataclass(frozen=True)
class ActionPlanStatus:
    state: ActionPlanState
    due_date: date
    working_days_late: int | None  # submitted_late / overdue: working days after the due date
    working_days_remaining: int | None  # not_yet_due / due_soon: working days until the due date


def action_plan_state(
    *,
    due: date,
    submitted: date | None,
    today: date,
    calendar: WorkingDayCalendar,
    due_soon_working_days: int = 10,
) -> ActionPlanStatus:
    """State of an action plan as of ``today``.

    A submission dated after ``today`` is ignored, so asking about a past date
    answers for that date. A late figure can be 0 when the submission (or
    ``today``) falls on a non-working day straight after the due date.
    """
    _check_threshold(due_soon_working_days)
    if submitted is not None and submitted <= today:
        if submitted <= due:
            return ActionPlanStatus(ActionPlanState.SUBMITTED_ON_TIME, due, None, None)
        late = calendar.working_days_between(due, submitted)
        return ActionPlanStatus(ActionPlanState.SUBMITTED_LATE, due, late, None)
    if today > due:
        late = calendar.working_days_between(due, today)
        return ActionPlanStatus(ActionPlanState.OVERDUE, due, late, None)
    remaining = calendar.working_days_between(today, due)
    soon = _is_due_soon(due, today, calendar, due_soon_working_days)
    state = ActionPlanState.DUE_SOON if soon else ActionPlanState.NOT_YET_DUE
    return ActionPlanStatus(state, due, None, remaining)


# -- recommendation deadline state ---------------------------------------------


@dataclass(frozen=True)
class DeadlineState:
    overdue: bool
    days_overdue: int  # calendar days
    working_days_overdue: int
    due_soon: bool
    rag: Rag


def deadline_state(
    *,
    due: date | None,
    status: Status,
    today: date,
    calendar: WorkingDayCalendar,
    due_soon_working_days: int = 10,
) -> DeadlineState:
    """Overdue / due-soon flags and RAG colour of a recommendation as of ``today``.

    ``due`` is the effective due date (target date, else the action-plan due
    date) and ``status`` the status as of ``today``; ``None`` means no deadline.
    """
    _check_threshold(due_soon_working_days)
    status = Status(status)
    done = status in DONE_STATUSES
    overdue = due is not None and due < today and not done
    due_soon = (
        due is not None
        and not done
        and not overdue
        and _is_due_soon(due, today, calendar, due_soon_working_days)
    )
    if overdue and due is not None:  # (re-test of due narrows the type)
        days_overdue = (today - due).days
        working_days_overdue = calendar.working_days_between(due, today)
    else:
        days_overdue = working_days_overdue = 0

    if status is Status.VERIFIED:
        rag = Rag.BLUE
    elif status is Status.CLOSED_NOT_IMPLEMENTED:
        rag = Rag.GREY
    elif status is Status.IMPLEMENTED:
        rag = Rag.GREEN
    elif overdue:
        rag = Rag.RED
    elif due_soon:
        rag = Rag.AMBER
    else:
        rag = Rag.GREEN
    return DeadlineState(overdue, days_overdue, working_days_overdue, due_soon, rag)
