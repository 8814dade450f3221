"""Dates plausible for a report's life: nothing before its review began, targets within a horizon.

Pure. A progress update, a target date or an assurance record dated 1900 on a
2018 report is a typing error (or an attack on the overdue figures), not history.
"""

from datetime import date


def review_began(review_start: date | None, published: date | None, received: date | None) -> date | None:
    """The first day of the report's life: its review's start, else its publication or receipt."""
    known = [day for day in (review_start, published, received) if day is not None]
    return review_start or (min(known) if known else None)


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def reported_on_problem(day: date, began: date | None) -> str | None:
    if began is not None and day < began:
        return f"reported_on {day} is before the review began ({began})"
    return None


def target_date_problem(day: date, *, began: date | None, received: date, horizon_years: int) -> str | None:
    if began is not None and day < began:
        return f"target_date {day} is before the review began ({began})"
    latest = years_after(received, horizon_years)
    if day > latest:
        return (
            f"target_date {day} is more than {horizon_years} years after the report was received "
            f"({received}); the latest accepted is {latest}"
        )
    return None
