"""SQL for "as of a date": statuses, overdue and RAG, computed by the database.

Each owner's status as of D is the status of its latest progress update with
``reported_on <= D`` (then the latest entered); a recommendation's is its
least advanced owner's. ``reported_on`` is never in the future, so for any D
on or after today the stored, rolled-up columns already hold the answer and
the queries use them (and their indexes); only a past D needs the history.

The pure rules in ``app.domain.deadlines`` say the same thing for one
recommendation; tests hold the two to agreement.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, not_, or_, select, type_coerce
from sqlalchemy.orm import aliased

from app.domain.calendar import CALENDARS
from app.domain.deadlines import ActionPlanState, Rag, due_soon_threshold
from app.domain.status import DONE_STATUSES, OWNER_STATUS_ORDER, TERMINAL_STATUSES, OwnerStatus, Status
from app.models import (
    AssuranceDecision,
    ProgressUpdate,
    Recommendation,
    RecommendationOwner,
    Report,
    TargetDateRevision,
)
from app.services.calendars import calendar_for

_RANK = {status.value: rank for rank, status in enumerate(OWNER_STATUS_ORDER)}
_DONE = [s.value for s in DONE_STATUSES]


@dataclass(frozen=True)
class AsOf:
    """The date a question is asked for, and what the answer depends on."""

    day: date
    today: date
    due_soon_working_days: int

    @property
    def is_current(self) -> bool:
        """True when the stored current statuses are the statuses as of ``day``."""
        return self.day >= self.today


def _rank_to_status(rank: ColumnElement) -> ColumnElement:
    return case(
        *((rank == r, literal(s.value)) for r, s in enumerate(OWNER_STATUS_ORDER)),
        else_=literal(OwnerStatus.NOT_STARTED.value),
    )


def _rank_of(status: ColumnElement) -> ColumnElement:
    return case(*((status == s, literal(r)) for s, r in _RANK.items()), else_=literal(0))


def owner_status(as_of: AsOf, owner=RecommendationOwner) -> ColumnElement:
    """The status of the owner row ``owner`` as of ``as_of.day``."""
    if as_of.is_current:
        return owner.status
    history = (
        select(ProgressUpdate.status)
        .where(
            ProgressUpdate.recommendation_id == owner.recommendation_id,
            ProgressUpdate.organisation_id == owner.organisation_id,
            ProgressUpdate.reported_on <= as_of.day,
        )
        .order_by(ProgressUpdate.reported_on.desc(), ProgressUpdate.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Nothing reported after the day asked about: the stored status is the answer.
    status = case(
        (func.coalesce(owner.last_reported_on, literal(date.min)) <= as_of.day, owner.status),
        else_=func.coalesce(history, literal(OwnerStatus.NOT_STARTED.value)),
    )
    return type_coerce(status, RecommendationOwner.__table__.c.status.type)


def recommendation_status(as_of: AsOf) -> ColumnElement:
    """The status of ``Recommendation`` as of ``as_of.day``: an assurer's verdict standing
    on that day (verified or closed), else the least advanced owner's status."""
    if as_of.is_current:
        return Recommendation.status
    # An alias, so this still correlates to Recommendation inside queries over owners.
    owner = aliased(RecommendationOwner)
    least_rank = (
        select(func.min(_rank_of(owner_status(as_of, owner))))
        .where(owner.recommendation_id == Recommendation.id)
        .scalar_subquery()
    )
    rolled_up = _rank_to_status(func.coalesce(least_rank, literal(0)))
    decision = (
        select(AssuranceDecision.decision)
        .where(
            AssuranceDecision.recommendation_id == Recommendation.id,
            AssuranceDecision.decided_on <= as_of.day,
        )
        .order_by(AssuranceDecision.decided_on.desc(), AssuranceDecision.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    terminal = [s.value for s in TERMINAL_STATUSES]
    status = case(
        # Nothing happened after the day asked about: the stored status is the answer.
        (func.coalesce(Recommendation.last_event_on, literal(date.min)) <= as_of.day, Recommendation.status),
        (decision.in_(terminal), decision),
        else_=rolled_up,
    )
    # A decision standing on the day is one of the statuses: read the answer back as a Status.
    return type_coerce(status, Recommendation.__table__.c.status.type)


def is_done(status: ColumnElement) -> ColumnElement:
    return status.in_(_DONE)


def is_overdue(
    as_of: AsOf, status: ColumnElement, *, due_date: ColumnElement = Recommendation.due_date
) -> ColumnElement:
    return and_(due_date < as_of.day, not_(is_done(status)))


def due_soon_thresholds(as_of: AsOf) -> dict[str, date]:
    return {
        name: due_soon_threshold(as_of.day, calendar_for(name), as_of.due_soon_working_days)
        for name in CALENDARS
    }


def due_soon_limit(as_of: AsOf, calendar: ColumnElement = Report.calendar) -> ColumnElement:
    """The last due date that is still "due soon", in the calendar of each row's report."""
    thresholds = due_soon_thresholds(as_of)
    return case(*((calendar == name, literal(day)) for name, day in thresholds.items()))


def is_due_soon(
    as_of: AsOf,
    status: ColumnElement,
    *,
    due_date: ColumnElement = Recommendation.due_date,
    calendar: ColumnElement = Report.calendar,
) -> ColumnElement:
    return and_(
        not_(is_done(status)),
        due_date >= as_of.day,
        due_date <= due_soon_limit(as_of, calendar),
    )


def rag(
    as_of: AsOf,
    status: ColumnElement,
    *,
    due_date: ColumnElement = Recommendation.due_date,
    calendar: ColumnElement = Report.calendar,
) -> ColumnElement:
    """The RAG colour; by default of ``Recommendation``, and the query must join ``Report`` (for
    its calendar)."""
    return case(
        (status == Status.VERIFIED.value, literal(Rag.BLUE.value)),
        (status == Status.CLOSED_NOT_IMPLEMENTED.value, literal(Rag.GREY.value)),
        (status == Status.IMPLEMENTED.value, literal(Rag.GREEN.value)),
        (due_date < as_of.day, literal(Rag.RED.value)),
        (due_date <= due_soon_limit(as_of, calendar), literal(Rag.AMBER.value)),
        else_=literal(Rag.GREEN.value),
    )


def rag_condition(
    as_of: AsOf,
    status: ColumnElement,
    colour: Rag,
    *,
    due_date: ColumnElement = Recommendation.due_date,
    calendar: ColumnElement = Report.calendar,
) -> ColumnElement:
    """A filter for one colour, written so the date comparisons can use indexes; by default of
    ``Recommendation``, and the query must join ``Report`` (for its calendar)."""
    open_ = not_(is_done(status))
    match colour:
        case Rag.BLUE:
            return status == Status.VERIFIED.value
        case Rag.GREY:
            return status == Status.CLOSED_NOT_IMPLEMENTED.value
        case Rag.RED:
            return is_overdue(as_of, status, due_date=due_date)
        case Rag.AMBER:
            return is_due_soon(as_of, status, due_date=due_date, calendar=calendar)
        case Rag.GREEN:
            return or_(
                status == Status.IMPLEMENTED.value,
                and_(open_, due_date > due_soon_limit(as_of, calendar)),
            )


def action_plan_state(as_of: AsOf) -> ColumnElement:
    """The state of ``Report``'s action plan as of ``as_of.day`` (see domain.deadlines.action_plan_state)."""
    submitted = Report.action_plan_submitted_date
    due = Report.action_plan_due_date
    submitted_by_then = and_(submitted.is_not(None), submitted <= as_of.day)
    return case(
        (and_(submitted_by_then, submitted <= due), literal(ActionPlanState.SUBMITTED_ON_TIME.value)),
        (submitted_by_then, literal(ActionPlanState.SUBMITTED_LATE.value)),
        (due < as_of.day, literal(ActionPlanState.OVERDUE.value)),
        (due <= due_soon_limit(as_of), literal(ActionPlanState.DUE_SOON.value)),
        else_=literal(ActionPlanState.NOT_YET_DUE.value),
    )


def owner_is_overdue(as_of: AsOf, owner_status_: ColumnElement, status: ColumnElement) -> ColumnElement:
    """An owner is overdue on a recommendation past its due date that the owner has not implemented."""
    return and_(
        Recommendation.due_date < as_of.day,
        owner_status_ != OwnerStatus.IMPLEMENTED.value,
        not_(status.in_([s.value for s in TERMINAL_STATUSES])),
    )


def owner_last_reported_on(as_of: AsOf, owner=RecommendationOwner) -> ColumnElement:
    """The latest ``reported_on`` of the owner row's progress updates as of ``as_of.day``
    (NULL when it had reported nothing by then)."""
    if as_of.is_current:
        return owner.last_reported_on
    history = (
        select(func.max(ProgressUpdate.reported_on))
        .where(
            ProgressUpdate.recommendation_id == owner.recommendation_id,
            ProgressUpdate.organisation_id == owner.organisation_id,
            ProgressUpdate.reported_on <= as_of.day,
        )
        .scalar_subquery()
    )
    reported_on = case(
        (func.coalesce(owner.last_reported_on, literal(date.min)) <= as_of.day, owner.last_reported_on),
        else_=history,
    )
    return type_coerce(reported_on, RecommendationOwner.__table__.c.last_reported_on.type)


def due_date(as_of: AsOf, *, day_ends_at: datetime) -> ColumnElement:
    """``Recommendation``'s effective due date as of ``as_of.day``: the target date then in
    force, else the report's action-plan due date. A target date changed after the day (after
    ``day_ends_at``, the end of that day where the service is) is read back from the first
    revision made since, whose ``old_date`` was in force. The query must join ``Report``."""
    if as_of.is_current:
        return Recommendation.due_date
    later = (TargetDateRevision.recommendation_id == Recommendation.id) & (
        TargetDateRevision.created_at >= day_ends_at
    )
    in_force_then = (
        select(TargetDateRevision.old_date)
        .where(later)
        .order_by(TargetDateRevision.created_at, TargetDateRevision.id)
        .limit(1)
        .scalar_subquery()
    )
    due = case(
        (exists().where(later), func.coalesce(in_force_then, Report.action_plan_due_date)),
        else_=Recommendation.due_date,
    )
    return type_coerce(due, Recommendation.__table__.c.due_date.type)
