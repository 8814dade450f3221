"""Which reminders fall due on a day, counted in the report's working-day calendar.

- due soon: N working days before the due date (5 and 1 by default);
- overdue: on the first working day it is overdue, then weekly;
- stale: an owner with no progress for ``stale_days`` days, then weekly;
- the action plan: due soon and overdue alike, for each organisation it is required from.

Reminders fire only on the calendar's working days; a weekly one whose day is not a working
day fires on the next working day. The service makes each one once per rule, subject,
organisation and date, however often these rules are asked.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.calendar import WorkingDayCalendar

WEEK = 7


class Rule(StrEnum):
    """A reminder rule; its value is the webhook event type it sends."""

    DUE_SOON = "recommendation.due_soon"
    OVERDUE = "recommendation.overdue"
    STALE = "recommendation.stale"
    ACTION_PLAN_DUE_SOON = "action_plan.due_soon"
    ACTION_PLAN_OVERDUE = "action_plan.overdue"


@dataclass(frozen=True)
class ReminderPolicy:
    due_soon_working_days: tuple[int, ...] = (5, 1)
    stale_days: int = 30

    def __post_init__(self) -> None:
        if any(n < 1 for n in self.due_soon_working_days):
            raise ValueError("due-soon reminders are at least 1 working day before the due date")
        if self.stale_days < 1:
            raise ValueError("stale_days must be >= 1")


def _first_working_day_from(day: date, calendar: WorkingDayCalendar) -> date:
    return day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)


def weekly_from(start: date, today: date, calendar: WorkingDayCalendar) -> bool:
    """``today`` is the first working day on or after ``start``, or on or after a whole
    number of weeks later."""
    if today < start or not calendar.is_working_day(today):
        return False
    anchor = start + timedelta(days=(today - start).days // WEEK * WEEK)
    return _first_working_day_from(anchor, calendar) == today


def due_soon(due: date, today: date, calendar: WorkingDayCalendar, policy: ReminderPolicy) -> bool:
    """Exactly one of the policy's numbers of working days before ``due``, on a working day."""
    return (
        calendar.is_working_day(today)
        and due > today
        and calendar.working_days_between(today, due) in policy.due_soon_working_days
    )


def overdue(due: date, today: date, calendar: WorkingDayCalendar) -> bool:
    """The first working day after ``due``, then weekly."""
    return weekly_from(due + timedelta(days=1), today, calendar)


def recommendation_reminders(
    *,
    due: date,
    done: bool,
    last_progress_on: date,
    today: date,
    calendar: WorkingDayCalendar,
    policy: ReminderPolicy,
) -> list[Rule]:
    """The reminders one owner of a recommendation gets on ``today``. ``done``: the owner has
    implemented it or the recommendation is closed; ``last_progress_on``: its latest progress
    update (or when it became the owner's, without one)."""
    if done:
        return []
    rules = []
    if due_soon(due, today, calendar, policy):
        rules.append(Rule.DUE_SOON)
    if overdue(due, today, calendar):
        rules.append(Rule.OVERDUE)
    if weekly_from(last_progress_on + timedelta(days=policy.stale_days), today, calendar):
        rules.append(Rule.STALE)
    return rules


def action_plan_reminders(
    *, due: date, submitted: date | None, today: date, calendar: WorkingDayCalendar, policy: ReminderPolicy
) -> list[Rule]:
    """The reminders an organisation the action plan is required from gets on ``today``.
    A submission dated after ``today`` does not count yet."""
    if submitted is not None and submitted <= today:
        return []
    rules = []
    if due_soon(due, today, calendar, policy):
        rules.append(Rule.ACTION_PLAN_DUE_SOON)
    if overdue(due, today, calendar):
        rules.append(Rule.ACTION_PLAN_OVERDUE)
    return rules
