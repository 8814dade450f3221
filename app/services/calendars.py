"""The working-day calendars in force, with the operator's extra days."""

from app.config import get_settings
from app.domain.calendar import WorkingDayCalendar, get_calendar


def calendar_for(name: str) -> WorkingDayCalendar:
    return get_calendar(name, get_settings().extra_non_working_days or None)
