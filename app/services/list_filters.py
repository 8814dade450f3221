"""What a list of recommendations may be filtered by, and how many items a filter matches.

A list as of today or later filtered only by what the recommendation tally keys hold (status,
effective due date and the report's calendar: statuses, overdue, RAG, due before) matches as
many recommendations as the tally rows those same conditions select add up to, because as of a
current date the stored statuses are the statuses then (``AsOf.is_current``). So its total is
a sum over the tally the writes keep in step (``app.services.tallies``), not a count over
every matching recommendation. A list by report or owner is not what the tally keys say, and
a past date needs the history: those are counted over the rows.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, not_, or_, select
from sqlmodel import Session

from app.domain.deadlines import Rag
from app.domain.status import Status
from app.models import RecommendationTally
from app.services import as_of as as_of_sql
from app.services.as_of import AsOf

_TALLY = RecommendationTally.__table__


@dataclass(frozen=True)
class RecommendationFilters:
    report_id: int | None = None
    organisation: str | None = None  # id or code
    statuses: list[Status] = field(default_factory=list)
    overdue: bool | None = None
    rags: list[Rag] = field(default_factory=list)
    due_before: date | None = None


def figure_conditions(
    filters: RecommendationFilters,
    as_of: AsOf,
    status: ColumnElement,
    *,
    due_date: ColumnElement,
    calendar: ColumnElement,
) -> list[ColumnElement]:
    """The conditions of the filters on a recommendation's status as of ``as_of``, its
    effective due date and its report's calendar: of the recommendation rows or of the tally."""
    conditions = []
    if filters.statuses:
        conditions.append(status.in_([Status(s) for s in filters.statuses]))
    if filters.overdue is not None:
        overdue = as_of_sql.is_overdue(as_of, status, due_date=due_date)
        conditions.append(overdue if filters.overdue else not_(overdue))
    if filters.rags:
        conditions.append(
            or_(
                *(
                    as_of_sql.rag_condition(as_of, status, colour, due_date=due_date, calendar=calendar)
                    for colour in filters.rags
                )
            )
        )
    if filters.due_before is not None:
        conditions.append(due_date < filters.due_before)
    return conditions


def tally_counts(filters: RecommendationFilters, as_of: AsOf) -> bool:
    """Whether the recommendation tally holds the number of items the filters match."""
    return as_of.is_current and filters.report_id is None and filters.organisation is None


def tallied_total(session: Session, filters: RecommendationFilters, as_of: AsOf) -> int:
    """How many recommendations the filters match, summed over the tally; only where
    ``tally_counts`` holds."""
    conditions = figure_conditions(
        filters, as_of, _TALLY.c.status, due_date=_TALLY.c.due_date, calendar=_TALLY.c.calendar
    )
    query = select(func.coalesce(func.sum(_TALLY.c.n), 0)).where(_TALLY.c.n != 0, *conditions)
    return session.connection().execute(query).scalar_one()
