"""The recommendation row: locked and written here only.

Every change to what a recommendation shows bumps its version by one (its strong ETag comes
from it, and a strong ETag changes whenever the representation does): a status (progress,
decisions), its report's deadline or calendar (due dates and working-day figures), an owner's
code or name. Changes a client makes against an ETag claim the version instead
(``versions.claim``).
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, FromClause, Row, Select, bindparam, case, update
from sqlmodel import Session, select

from app.db import statements
from app.domain.status import Status
from app.errors import NotFound
from app.models import Recommendation, RecommendationOwner

_RECOMMENDATION = Recommendation.__table__
_NEXT_VERSION = Recommendation.version + 1

_LOCKED_COLUMNS = (
    _RECOMMENDATION.c.id,
    _RECOMMENDATION.c.report_id,
    _RECOMMENDATION.c.ref,
    _RECOMMENDATION.c.status,
    _RECOMMENDATION.c.due_date,
    _RECOMMENDATION.c.last_event_on,
)
_LOCKED = (
    select(*_LOCKED_COLUMNS).where(_RECOMMENDATION.c.id == bindparam("recommendation_id")).with_for_update()
)
# The recommendation again, not locked: as the statement's snapshot saw it (``locked_with``).
_SEEN = _RECOMMENDATION.alias("seen")
# Its parameters are named apart from every column: a statement embedding it (app.services.progress)
# would set a column named like one in each of its UPDATEs.
SET_STATUS = (
    update(_RECOMMENDATION)
    .where(_RECOMMENDATION.c.id == bindparam("status_of"))
    .values(
        status=bindparam("recommendation_status"),
        last_event_on=bindparam("last_event_on"),
        updated_at=bindparam("now"),
        version=_NEXT_VERSION,
    )
)


def lock(session: Session, recommendation_id: int) -> Row:
    """The recommendation's ``id``, ``report_id``, ``ref``, ``status``, ``due_date`` and
    ``last_event_on``, read with a row lock so that concurrent writers take turns; 404 when there
    is none."""
    return lock_with(session.connection(), _LOCKED, recommendation_id)[0]


def locked_with(columns: Iterable[ColumnElement], joined: Callable[[FromClause], FromClause]) -> Select:
    """``lock``'s statement, reading more in the same round trip: ``columns`` of the tables that
    ``joined`` joins to the recommendation, which it is given.

    On PostgreSQL a statement's snapshot is taken before it waits for the lock: the locked row is
    read as the writer before left it, the joined tables as they stood before that writer
    committed. Every write that changes what a recommendation shows bumps its version under its
    lock (the module's docstring), so the statement also reads ``version`` as locked and
    ``seen_version`` as its snapshot saw it: when they differ (``waited_for_a_writer``), what was
    joined may be stale and must be read again.
    """
    return (
        select(*_LOCKED_COLUMNS, _RECOMMENDATION.c.version, _SEEN.c.version.label("seen_version"), *columns)
        .select_from(joined(_RECOMMENDATION.join(_SEEN, _SEEN.c.id == _RECOMMENDATION.c.id)))
        .where(_RECOMMENDATION.c.id == bindparam("recommendation_id"))
        .with_for_update(of=_RECOMMENDATION)
    )


def lock_with(connection: Connection, statement: Select, recommendation_id: int) -> list[Row]:
    """The rows of ``statement`` (``lock``'s or one of ``locked_with``'s) for
    ``recommendation_id``, taking its lock; 404 when there is no such recommendation."""
    rows = statements.execute(connection, statement, {"recommendation_id": recommendation_id}).all()
    if not rows:
        raise NotFound(f"Recommendation {recommendation_id} does not exist.")
    return rows


def waited_for_a_writer(locked: Row) -> bool:
    """Whether a writer committed a change to the recommendation while ``lock_with`` waited for
    its lock: what its statement read besides the locked row may predate that change."""
    return locked.version != locked.seen_version


def set_status(session: Session, locked: Row, status: Status, *, event_on: date, now: datetime) -> None:
    """A new status, the day of the event that set it (progress reported, a decision)."""
    session.connection().execute(SET_STATUS, status_change(locked, status, event_on=event_on, now=now))


def status_change(locked: Row, status: Status, *, event_on: date, now: datetime) -> dict:
    """``SET_STATUS``'s parameters: ``set_status``, or a statement that embeds it."""
    return {
        "status_of": locked.id,
        "recommendation_status": status,
        "last_event_on": max(locked.last_event_on or event_on, event_on),
        "now": now,
    }


def follow_report_deadline(session: Session, report_id: int, due_date: date) -> None:
    """The report's deadline or calendar changed: its recommendations without a target date of their
    own take the new due date, and every one of them shows new working-day figures."""
    session.exec(
        update(Recommendation)
        .where(Recommendation.report_id == report_id)
        .values(
            due_date=case((Recommendation.target_date.is_(None), due_date), else_=Recommendation.due_date),
            version=_NEXT_VERSION,
        )
    )


def show_owner_renamed(session: Session, organisation_id: int) -> None:
    """An organisation's code or name changed: every recommendation it owns shows it."""
    owned = select(RecommendationOwner.recommendation_id).where(
        RecommendationOwner.organisation_id == organisation_id
    )
    session.exec(update(Recommendation).where(Recommendation.id.in_(owned)).values(version=_NEXT_VERSION))
