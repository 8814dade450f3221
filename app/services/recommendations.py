from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, case, func
from sqlmodel import Session, select

from app.domain import scopes
from app.domain.access import Actor
from app.domain.deadlines import deadline_state
from app.domain.status import Status
from app.errors import Conflict, NotFound
from app.models import (
    Organisation,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
)
from app.schemas.recommendations import (
    CitationPublic,
    OwnerPublic,
    RecommendationCreate,
    RecommendationPublic,
)
from app.services import as_of as as_of_sql
from app.services import audit, tallies, versions
from app.services.as_of import AsOf
from app.services.calendars import calendar_for
from app.services.list_filters import RecommendationFilters, figure_conditions, tallied_total, tally_counts
from app.services.organisations import resolve_code_lists, resolve_organisation


def ref_position(ref: str) -> int:
    """A sort key that puts "4.10" after "4.9": up to three numeric levels."""
    parts = [int("".join(ch for ch in part if ch.isdigit()) or 0) for part in ref.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]


def get_recommendation(session: Session, recommendation_id: int) -> Recommendation:
    recommendation = session.get(Recommendation, recommendation_id)
    if recommendation is None:
        raise NotFound(f"Recommendation {recommendation_id} does not exist.")
    return recommendation


def add_recommendation(
    session: Session, *, actor: Actor, report: Report, data: RecommendationCreate, now: datetime
) -> Recommendation:
    """Stage a recommendation with its owners and citations, without committing."""
    return add_recommendations(session, actor=actor, report=report, items=[data], now=now)[0]


def add_recommendations(
    session: Session, *, actor: Actor, report: Report, items: Sequence[RecommendationCreate], now: datetime
) -> list[Recommendation]:
    """Stage recommendations of one report, in order, with their owners and citations, without
    committing. A whole report's worth (the seed, an import) costs one query for the refs taken,
    one for the owners' codes, one flush of the rows and one count for the tallies, not a round
    of each per recommendation."""
    refs = [data.ref for data in items]
    taken = dict(
        session.exec(
            select(Recommendation.ref, Recommendation.id).where(
                Recommendation.report_id == report.id, Recommendation.ref.in_(refs)
            )
        ).all()
    )
    seen: set[str] = set()
    for data in items:
        if data.ref in taken:
            message = f"Report {report.id} already has a recommendation {data.ref}."
            raise Conflict(message, existing_id=taken[data.ref])
        if data.ref in seen:
            raise Conflict(f"Recommendation {data.ref} is given more than once.")
        seen.add(data.ref)
        paragraphs = [c.paragraph for c in data.citations]
        if len(set(paragraphs)) != len(paragraphs):
            raise Conflict("A paragraph is cited more than once.")
    owners = resolve_code_lists(session, [data.owners for data in items])
    created = [
        Recommendation(
            report_id=report.id,
            ref=data.ref,
            position=ref_position(data.ref),
            text=data.text,
            section=data.section or (data.citations[0].section if data.citations else None),
            status=Status.NOT_STARTED,
            target_date=data.target_date,
            original_target_date=data.target_date,
            due_date=data.target_date or report.action_plan_due_date,
            created_at=now,
            updated_at=now,
        )
        for data in items
    ]
    session.add_all(created)
    session.flush()
    for recommendation, data, organisations in zip(created, items, owners, strict=True):
        session.add_all(
            RecommendationOwner(
                recommendation_id=recommendation.id,
                organisation_id=organisation.id,
                position=position,
                updated_at=now,
            )
            for position, organisation in enumerate(organisations)
        )
        session.add_all(
            RecommendationCitation(
                recommendation_id=recommendation.id,
                paragraph=citation.paragraph,
                section=citation.section,
            )
            for citation in data.citations
        )
    versions.bump(report)  # its recommendation count changed
    session.add(report)
    tallies.added(session, [r.id for r in created])  # after the report's row (its calendar) is written
    for recommendation, data, organisations in zip(created, items, owners, strict=True):
        audit.record(
            session,
            actor=actor,
            action="create",
            entity="recommendation",
            entity_id=recommendation.id,
            now=now,
            after={**audit.snapshot(recommendation), "owners": data.owners},
            scopes=scopes.recommendation_change(
                recommendation_id=recommendation.id,
                report_id=report.id,
                owner_ids=[organisation.id for organisation in organisations],
            ),
        )
    return created


def create_recommendation(
    session: Session, *, actor: Actor, report: Report, data: RecommendationCreate, now: datetime
) -> Recommendation:
    recommendation = add_recommendation(session, actor=actor, report=report, data=data, now=now)
    session.commit()
    return recommendation


class SortOrder(StrEnum):
    REF = "ref"
    DUE_DATE = "due_date"
    DUE_DATE_DESC = "-due_date"
    DAYS_OVERDUE = "days_overdue"


def _filtered(session: Session, query: Select, filters: RecommendationFilters, as_of: AsOf, status) -> Select:
    if filters.report_id is not None:
        query = query.where(Recommendation.report_id == filters.report_id)
    if filters.organisation is not None:
        organisation = resolve_organisation(session, filters.organisation)
        owned = select(RecommendationOwner.recommendation_id).where(
            RecommendationOwner.organisation_id == organisation.id
        )
        query = query.where(Recommendation.id.in_(owned))
    conditions = figure_conditions(
        filters, as_of, status, due_date=Recommendation.due_date, calendar=Report.calendar
    )
    return query.where(*conditions)


def _ordered(query: Select, sort: SortOrder, as_of: AsOf, status, *, overdue_only: bool) -> Select:
    tie_break = (Recommendation.report_id, Recommendation.position, Recommendation.id)
    match sort:
        case SortOrder.REF:
            return query.order_by(*tie_break)
        case SortOrder.DUE_DATE:
            return query.order_by(Recommendation.due_date, *tie_break)
        case SortOrder.DUE_DATE_DESC:
            return query.order_by(Recommendation.due_date.desc(), *tie_break)
        case SortOrder.DAYS_OVERDUE if overdue_only:
            # Every row is overdue: due-date order, which a page reads off an index and stops.
            return query.order_by(Recommendation.due_date, *tie_break)
        case SortOrder.DAYS_OVERDUE:
            # Most overdue first: overdue items by due date, then everything else.
            not_overdue = case((as_of_sql.is_overdue(as_of, status), 0), else_=1)
            return query.order_by(not_overdue, Recommendation.due_date, *tie_break)


def list_recommendations(
    session: Session,
    *,
    filters: RecommendationFilters,
    as_of: AsOf,
    sort: SortOrder = SortOrder.REF,
    limit: int,
    offset: int,
) -> tuple[list[RecommendationPublic], int]:
    """A page of recommendations as of a date; filtering, sorting and counting run in SQL."""
    status = as_of_sql.recommendation_status(as_of)
    if tally_counts(filters, as_of):
        total = tallied_total(session, filters, as_of)
    else:
        counted = select(func.count()).select_from(Recommendation)
        if filters.rags:  # the RAG's due-soon limit is in the calendar of each row's report
            counted = counted.join(Report, Report.id == Recommendation.report_id)
        total = session.exec(_filtered(session, counted, filters, as_of, status)).one()
    page = _filtered(session, _viewed(status), filters, as_of, status)
    page = _ordered(page, sort, as_of, status, overdue_only=filters.overdue is True)
    rows = session.connection().execute(page.limit(limit).offset(offset)).all()
    return _views(session, rows, as_of), total


def recommendation_view(
    session: Session, recommendation: Recommendation, *, as_of: AsOf
) -> RecommendationPublic:
    status = as_of_sql.recommendation_status(as_of)
    row = session.connection().execute(_viewed(status).where(Recommendation.id == recommendation.id)).one()
    return _views(session, [row], as_of)[0]


_VIEWED_COLUMNS = tuple(
    Recommendation.__table__.c[name]
    for name in (
        "id",
        "report_id",
        "ref",
        "text",
        "section",
        "target_date",
        "original_target_date",
        "due_date",
        "created_at",
        "updated_at",
    )
)


def _viewed(status) -> Select:
    """What ``public_view`` shows of each recommendation, with its status (``status_as_of``) and
    its report's calendar: columns, not models, which would cost more to load than to query."""
    return select(*_VIEWED_COLUMNS, status.label("status_as_of"), Report.calendar).join(
        Report, Report.id == Recommendation.report_id
    )


def _owners_as_of(session: Session, ids: list[int], as_of: AsOf) -> dict[int, list[OwnerPublic]]:
    owners: dict[int, list[OwnerPublic]] = defaultdict(list)
    rows = session.connection().execute(
        select(
            RecommendationOwner.recommendation_id,
            Organisation.id,
            Organisation.code,
            Organisation.name,
            as_of_sql.owner_status(as_of),
        )
        .join(Organisation, Organisation.id == RecommendationOwner.organisation_id)
        .where(RecommendationOwner.recommendation_id.in_(ids))
        .order_by(RecommendationOwner.recommendation_id, RecommendationOwner.position)
    )
    for recommendation_id, organisation_id, code, name, status in rows:
        owners[recommendation_id].append(
            OwnerPublic(organisation_id=organisation_id, code=code, name=name, status=status)
        )
    return owners


def _citations(session: Session, ids: list[int]) -> dict[int, list[CitationPublic]]:
    citations: dict[int, list[CitationPublic]] = defaultdict(list)
    rows = session.connection().execute(
        select(
            RecommendationCitation.recommendation_id,
            RecommendationCitation.paragraph,
            RecommendationCitation.section,
        )
        .where(RecommendationCitation.recommendation_id.in_(ids))
        .order_by(RecommendationCitation.recommendation_id, RecommendationCitation.id)
    )
    for recommendation_id, paragraph, section in rows:
        citations[recommendation_id].append(CitationPublic(paragraph=paragraph, section=section))
    return citations


def _views(session: Session, rows, as_of: AsOf) -> list[RecommendationPublic]:
    """Public views of a page of rows of ``_viewed``: two more queries."""
    ids = [row.id for row in rows]
    owners = _owners_as_of(session, ids, as_of)
    citations = _citations(session, ids)
    return [
        public_view(row, row.status_as_of, row.calendar, owners[row.id], citations[row.id], as_of)
        for row in rows
    ]


def public_view(
    recommendation, status: str, calendar_name: str, owners, citations, as_of: AsOf
) -> RecommendationPublic:
    """What every view of a recommendation shows: ``recommendation`` has the table's columns
    (a row or the model), ``status`` is its status as of ``as_of``, ``calendar_name`` its
    report's calendar; ``owners`` and ``citations`` are in order (models or their fields)."""
    calendar = calendar_for(calendar_name)
    state = deadline_state(
        due=recommendation.due_date,
        status=Status(status),
        today=as_of.day,
        calendar=calendar,
        due_soon_working_days=as_of.due_soon_working_days,
    )
    original, current = recommendation.original_target_date, recommendation.target_date
    slippage = calendar.working_days_between(original, current) if original and current else None
    return RecommendationPublic(
        id=recommendation.id,
        report_id=recommendation.report_id,
        ref=recommendation.ref,
        text=recommendation.text,
        section=recommendation.section,
        status=status,
        owners=owners,
        citations=citations,
        target_date=current,
        original_target_date=original,
        slippage_working_days=slippage,
        effective_due_date=recommendation.due_date,
        as_of=as_of.day,
        overdue=state.overdue,
        days_overdue=state.days_overdue,
        working_days_overdue=state.working_days_overdue,
        due_soon=state.due_soon,
        rag=state.rag,
        created_at=recommendation.created_at,
        updated_at=recommendation.updated_at,
    )
