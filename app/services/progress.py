"""Progress updates and evidence: the only way statuses change."""

from collections import Counter
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, FromClause, Row, bindparam, func, insert, update
from sqlmodel import Session, select

from app.db import statements
from app.domain import scopes
from app.domain.access import Actor, NotAllowed, acting_organisation
from app.domain.report_dates import reported_on_problem, review_began
from app.domain.status import TERMINAL_STATUSES, OwnerStatus, evidence_required, roll_up
from app.domain.tallies import RecommendationState, change
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from app.models import (
    EvidenceLink,
    Organisation,
    ProgressUpdate,
    Recommendation,
    RecommendationOwner,
    Report,
)
from app.schemas.progress import (
    EvidenceLinkCreate,
    EvidenceLinkPublic,
    ProgressUpdateCreate,
    ProgressUpdatePublic,
)
from app.services import audit, change_scopes, recommendation_rows, tallies
from app.services.organisations import find_by_code
from app.services.paging import fetch_page

# The tables, for the Core statements of the write path: a progress update is the write
# dashboards and owners' systems make most, and the ORM's unit of work would cost several
# times the handful of statements it needs.
_OWNER = RecommendationOwner.__table__
_ORGANISATION = Organisation.__table__
_UPDATE = ProgressUpdate.__table__
_EVIDENCE = EvidenceLink.__table__
_REPORT = Report.__table__
_RECOMMENDATION = Recommendation.__table__


class Owner(NamedTuple):
    """An owning organisation, with its status as an owner."""

    id: int
    code: str
    owner_id: int
    status: OwnerStatus
    last_reported_on: date | None


_REPORT_COLUMNS = (
    _REPORT.c.review_start_date,
    _REPORT.c.published_date,
    _REPORT.c.received_date,
    _REPORT.c.calendar,
)
_OWNER_COLUMNS = (
    _ORGANISATION.c.id.label("organisation_id"),
    _ORGANISATION.c.code.label("organisation_code"),
    _OWNER.c.id.label("owner_id"),
    _OWNER.c.status.label("owner_status"),
    _OWNER.c.last_reported_on,
)


def _with_owners(left: FromClause, recommendation_id) -> FromClause:
    """``left`` joined to the owners of ``recommendation_id`` (a column or a parameter) and their
    organisations."""
    return left.outerjoin(_OWNER, _OWNER.c.recommendation_id == recommendation_id).outerjoin(
        _ORGANISATION, _ORGANISATION.c.id == _OWNER.c.organisation_id
    )


# The recommendation locked, with the dates its progress is checked against, the calendar its
# tallies count in and its owners in order, one row an owner: one round trip where it took two
# (docs/benchmarks.md, twenty-first round). When a writer committed while this one waited for
# the lock, the report and the owners are read again (``_REPORT_AND_OWNERS``), after it.
_LOCKED_WITH_OWNERS = recommendation_rows.locked_with(
    (*_REPORT_COLUMNS, *_OWNER_COLUMNS),
    lambda recommendation: _with_owners(
        recommendation.join(_REPORT, _REPORT.c.id == _RECOMMENDATION.c.report_id), _RECOMMENDATION.c.id
    ),
).order_by(_OWNER.c.position)
# The same, but the lock: read in a statement of its own once the lock is held, it sees what the
# writer before this one committed.
_REPORT_AND_OWNERS = (
    select(*_REPORT_COLUMNS, *_OWNER_COLUMNS)
    .select_from(_with_owners(_REPORT, bindparam("recommendation_id")))
    .where(_REPORT.c.id == bindparam("report_id"))
    .order_by(_OWNER.c.position)
)


def _owners(rows: list[Row]) -> list[Owner]:
    return [
        Owner(r.organisation_id, r.organisation_code, r.owner_id, r.owner_status, r.last_reported_on)
        for r in rows
        if r.owner_id is not None
    ]


def _report_and_owners(
    connection: Connection, recommendation: Recommendation | Row
) -> tuple[Row, list[Owner]]:
    """The report's dates and calendar, and the owners in order, of the locked ``recommendation``."""
    rows = statements.execute(
        connection,
        _REPORT_AND_OWNERS,
        {"report_id": recommendation.report_id, "recommendation_id": recommendation.id},
    ).all()
    return rows[0], _owners(rows)


def _lock_with_owners(connection: Connection, recommendation_id: int) -> tuple[Row, Row, list[Owner]]:
    """The recommendation, locked (``recommendation_rows.lock``), its report's dates and calendar,
    and its owners in order, as they stand once the lock is held."""
    rows = recommendation_rows.lock_with(connection, _LOCKED_WITH_OWNERS, recommendation_id)
    locked = rows[0]
    if recommendation_rows.waited_for_a_writer(locked):
        return locked, *_report_and_owners(connection, locked)
    return locked, locked, _owners(rows)


def acting_owner(
    session: Session,
    *,
    actor: Actor,
    recommendation: Recommendation | Row,
    code: str | None,
    owners: list[Owner] | None = None,
) -> Owner:
    """The owner a write is for: an editor's own organisation, or the one an admin or assurer names."""
    if owners is None:
        _, owners = _report_and_owners(session.connection(), recommendation)
    named = None
    if code is not None:
        # Usually one of the owners: only another code needs looking up (to tell "no such
        # organisation" from "not an owner").
        organisation = next((o for o in owners if o.code.lower() == code.lower()), None)
        organisation = organisation or find_by_code(session, code)
        if organisation is None:
            raise InvalidInput(f"No organisation has the code {code!r}.")
        named = organisation.id
    try:
        organisation_id = acting_organisation(actor, named=named, owners=[o.id for o in owners])
    except NotAllowed as refusal:
        raise Forbidden(refusal.reason) from None
    if organisation_id is None:
        codes = ", ".join(o.code for o in owners)
        raise InvalidInput(
            f"Name the owning organisation this is for in organisation_code (owners of "
            f"{recommendation.ref}: {codes})."
        )
    for owner in owners:
        if owner.id == organisation_id:
            return owner
    raise RuleViolation(
        f"{code} does not own recommendation {recommendation.ref}; "
        f"its owners are {', '.join(o.code for o in owners)}.",
        code="not_an_owner",
    )


_EVIDENCE_COUNT = select(func.count()).where(
    _EVIDENCE.c.recommendation_id == bindparam("recommendation_id"),
    _EVIDENCE.c.organisation_id == bindparam("organisation_id"),
)
_LATEST_STATUS = (
    select(_UPDATE.c.status)
    .where(
        _UPDATE.c.recommendation_id == bindparam("recommendation_id"),
        _UPDATE.c.organisation_id == bindparam("organisation_id"),
    )
    .order_by(_UPDATE.c.reported_on.desc(), _UPDATE.c.id.desc())
    .limit(1)
)
# Its parameters are named apart from every column (``_new``): a parameter named like a column is
# also set in every UPDATE of a statement that embeds this one.
_INSERT_UPDATE = (
    insert(_UPDATE)
    .values({c.name: bindparam(f"new_{c.name}") for c in _UPDATE.c if c.name != "id"})
    .returning(_UPDATE.c.id)
)
_SET_OWNER = (
    update(_OWNER)
    .where(_OWNER.c.id == bindparam("owner_id"))
    .values(
        status=bindparam("owner_status"),
        last_reported_on=bindparam("last_reported_on"),
        updated_at=bindparam("now"),
    )
)
# PostgreSQL: the update, its owner's and its recommendation's new statuses and, when they move
# any, the tallies, in one statement: one round trip where they took up to six
# (docs/benchmarks.md, seventeenth round). Each part writes rows no other part reads, so that
# all of them see the same snapshot changes nothing.
_PROGRESS_ROW = _INSERT_UPDATE.cte("progress_row")
_STATUSES = (_SET_OWNER.cte("owner_row"), recommendation_rows.SET_STATUS.cte("recommendation_row"))
_RECORDED = {
    False: select(_PROGRESS_ROW.c.id).add_cte(*_STATUSES),
    True: select(_PROGRESS_ROW.c.id).add_cte(*_STATUSES, *tallies.MOVES),
}


def _new(values: dict) -> dict:
    """``_INSERT_UPDATE``'s parameters for the update's ``values``."""
    return {f"new_{name}": value for name, value in values.items()}


def _state(report: Row, recommendation: Row, status, owners: list) -> RecommendationState:
    return RecommendationState(
        calendar=report.calendar, status=status, due_date=recommendation.due_date, owners=tuple(owners)
    )


def record_progress(
    session: Session,
    *,
    actor: Actor,
    recommendation_id: int,
    data: ProgressUpdateCreate,
    today: date,
    now: datetime,
) -> ProgressUpdatePublic:
    reported_on = data.reported_on or today
    if reported_on > today:
        raise InvalidInput(f"reported_on {reported_on} is in the future (today is {today}).")
    connection = session.connection()
    recommendation, report, owners = _lock_with_owners(connection, recommendation_id)
    began = review_began(report.review_start_date, report.published_date, report.received_date)
    if problem := reported_on_problem(reported_on, began):
        raise InvalidInput(f"{problem}.", code="implausible_date")
    if recommendation.status in TERMINAL_STATUSES:
        raise Conflict(
            f"Recommendation {recommendation.ref} is {recommendation.status}; "
            "it must be reopened before progress can be reported.",
            code="recommendation_closed",
        )
    owner = acting_owner(
        session, actor=actor, recommendation=recommendation, code=data.organisation_code, owners=owners
    )
    keys = {"recommendation_id": recommendation.id, "organisation_id": owner.id}
    if evidence_required(data.status, lambda: connection.execute(_EVIDENCE_COUNT, keys).scalar_one()):
        raise RuleViolation(
            f"{owner.code} has no evidence link on recommendation {recommendation.ref}; "
            "add one before reporting it implemented.",
            code="evidence_required",
        )
    values = {
        **keys,
        "author": data.author,
        "narrative": data.narrative,
        "status": data.status,
        "reported_on": reported_on,
        "created_at": now,
    }
    update_id = None
    if owner.last_reported_on is None or reported_on >= owner.last_reported_on:
        owner_status = values["status"]  # the newest update: latest by date, then by entry
    else:  # a backdated update: an earlier one may still be the latest, so it is written first
        update_id = connection.execute(_INSERT_UPDATE, _new(values)).scalar_one()
        owner_status = connection.execute(_LATEST_STATUS, keys).scalar_one()
    statuses = [(o.id, owner_status if o.id == owner.id else o.status) for o in owners]
    status = roll_up(s for _, s in statuses)
    # The row is locked: its status, due date and owners are as read above until commit. An
    # update that moves no status (most of them: progress reported again) moves no count.
    counts = Counter()
    if status != recommendation.status or owner_status != owner.status:
        counts = change(
            [_state(report, recommendation, recommendation.status, [(o.id, o.status) for o in owners])],
            [_state(report, recommendation, status, statuses)],
        )
    owner_change = {
        "owner_id": owner.owner_id,
        "owner_status": owner_status,
        "last_reported_on": max(owner.last_reported_on or reported_on, reported_on),
        "now": now,
    }
    status_change = recommendation_rows.status_change(recommendation, status, event_on=reported_on, now=now)
    if update_id is None and connection.dialect.name == "postgresql":
        parameters = _new(values) | owner_change | status_change | (tallies.columns(counts) if counts else {})
        update_id = statements.execute(connection, _RECORDED[bool(counts)], parameters).scalar_one()
    else:
        if update_id is None:
            update_id = connection.execute(_INSERT_UPDATE, _new(values)).scalar_one()
        connection.execute(_SET_OWNER, owner_change)
        connection.execute(recommendation_rows.SET_STATUS, status_change)
        if counts:
            tallies.apply(connection, counts)
    created = ProgressUpdatePublic(id=update_id, organisation_code=owner.code, **values)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="progress_update",
        entity_id=update_id,
        now=now,
        after={
            **audit.snapshot(created, exclude={"organisation_code"}),
            "recommendation_status": {"before": recommendation.status, "after": status},
        },
        scopes=scopes.progress_change(
            recommendation_id=recommendation.id,
            report_id=recommendation.report_id,
            owner_ids=[o.id for o in owners],
            counts_moved=bool(counts),  # most updates restate a status: the figures stay
            status_before=recommendation.status,
            status_after=status,
        ),
    )
    session.commit()
    return created


def list_progress_updates(
    session: Session, *, recommendation: Recommendation, limit: int, offset: int
) -> tuple[list[ProgressUpdatePublic], int]:
    query = (
        select(ProgressUpdate, Organisation.code)
        .join(Organisation, Organisation.id == ProgressUpdate.organisation_id)
        .where(ProgressUpdate.recommendation_id == recommendation.id)
    )
    order = [ProgressUpdate.reported_on, ProgressUpdate.id]
    rows, total = fetch_page(session, query, order_by=order, limit=limit, offset=offset)
    return [ProgressUpdatePublic(**u.model_dump(), organisation_code=code) for u, code in rows], total


def add_evidence(
    session: Session, *, actor: Actor, recommendation_id: int, data: EvidenceLinkCreate, now: datetime
) -> EvidenceLinkPublic:
    recommendation, _, owners = _lock_with_owners(session.connection(), recommendation_id)
    organisation = acting_owner(
        session, actor=actor, recommendation=recommendation, code=data.organisation_code, owners=owners
    )
    if data.progress_update_id is not None:
        cited = session.get(ProgressUpdate, data.progress_update_id)
        if cited is None or cited.recommendation_id != recommendation.id:
            raise NotFound(
                f"Recommendation {recommendation.ref} has no progress update {data.progress_update_id}."
            )
        if cited.organisation_id != organisation.id:
            raise RuleViolation(
                f"Progress update {cited.id} was reported by another organisation, not {organisation.code}.",
                code="not_an_owner",
            )
    link = EvidenceLink(
        recommendation_id=recommendation.id,
        organisation_id=organisation.id,
        progress_update_id=data.progress_update_id,
        url=data.url,
        title=data.title,
        description=data.description,
        created_at=now,
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="evidence_link",
        entity_id=link.id,
        now=now,
        after=audit.snapshot(link),
        scopes=change_scopes.of_recommendation(session, recommendation.id),
    )
    session.commit()
    return EvidenceLinkPublic(**link.model_dump(), organisation_code=organisation.code)


def list_evidence(
    session: Session, *, recommendation: Recommendation, limit: int, offset: int
) -> tuple[list[EvidenceLinkPublic], int]:
    query = (
        select(EvidenceLink, Organisation.code)
        .join(Organisation, Organisation.id == EvidenceLink.organisation_id)
        .where(EvidenceLink.recommendation_id == recommendation.id)
    )
    rows, total = fetch_page(session, query, order_by=[EvidenceLink.id], limit=limit, offset=offset)
    return [EvidenceLinkPublic(**e.model_dump(), organisation_code=code) for e, code in rows], total
