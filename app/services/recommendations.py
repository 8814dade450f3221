from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

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
from app.services.calendars import calendar_for
from app.services.organisations import resolve_codes, resolve_organisation


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
    session: Session, *, report: Report, data: RecommendationCreate, now: datetime
) -> Recommendation:
    """Stage a recommendation with its owners and citations, without committing."""
    duplicate = session.exec(
        select(Recommendation.id).where(Recommendation.report_id == report.id, Recommendation.ref == data.ref)
    ).first()
    if duplicate is not None:
        raise Conflict(f"Report {report.id} already has a recommendation {data.ref}.", existing_id=duplicate)
    paragraphs = [c.paragraph for c in data.citations]
    if len(set(paragraphs)) != len(paragraphs):
        raise Conflict("A paragraph is cited more than once.")
    owners = resolve_codes(session, data.owners)
    recommendation = Recommendation(
        report_id=report.id,
        ref=data.ref,
        position=ref_position(data.ref),
        text=data.text,
        section=data.section or (data.citations[0].section if data.citations else None),
        status=Status.NOT_STARTED,
        target_date=data.target_date,
        due_date=data.target_date or report.action_plan_due_date,
        created_at=now,
        updated_at=now,
    )
    session.add(recommendation)
    session.flush()
    for position, organisation in enumerate(owners):
        session.add(
            RecommendationOwner(
                recommendation_id=recommendation.id,
                organisation_id=organisation.id,
                position=position,
                updated_at=now,
            )
        )
    for citation in data.citations:
        session.add(
            RecommendationCitation(
                recommendation_id=recommendation.id,
                paragraph=citation.paragraph,
                section=citation.section,
            )
        )
    return recommendation


def create_recommendation(
    session: Session, *, report: Report, data: RecommendationCreate, now: datetime
) -> Recommendation:
    recommendation = add_recommendation(session, report=report, data=data, now=now)
    session.commit()
    return recommendation


@dataclass(frozen=True)
class RecommendationFilters:
    report_id: int | None = None
    organisation: str | None = None  # id or code
    statuses: list[Status] = field(default_factory=list)


def list_recommendations(
    session: Session, *, filters: RecommendationFilters, limit: int, offset: int
) -> tuple[list[Recommendation], int]:
    query = select(Recommendation)
    if filters.report_id is not None:
        query = query.where(Recommendation.report_id == filters.report_id)
    if filters.organisation is not None:
        organisation = resolve_organisation(session, filters.organisation)
        owned = select(RecommendationOwner.recommendation_id).where(
            RecommendationOwner.organisation_id == organisation.id
        )
        query = query.where(Recommendation.id.in_(owned))
    if filters.statuses:
        query = query.where(Recommendation.status.in_([s.value for s in filters.statuses]))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    items = session.exec(
        query.order_by(Recommendation.report_id, Recommendation.position, Recommendation.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


def recommendation_views(
    session: Session, recommendations: list[Recommendation], *, as_of: date, due_soon_working_days: int
) -> list[RecommendationPublic]:
    """Public views of a page of recommendations: three queries, whatever the page size."""
    ids = [r.id for r in recommendations]
    owners: dict[int, list[OwnerPublic]] = defaultdict(list)
    for owner, organisation in session.exec(
        select(RecommendationOwner, Organisation)
        .join(Organisation, Organisation.id == RecommendationOwner.organisation_id)
        .where(RecommendationOwner.recommendation_id.in_(ids))
        .order_by(RecommendationOwner.recommendation_id, RecommendationOwner.position)
    ):
        owners[owner.recommendation_id].append(
            OwnerPublic(
                organisation_id=organisation.id,
                code=organisation.code,
                name=organisation.name,
                status=owner.status,
            )
        )
    citations: dict[int, list[CitationPublic]] = defaultdict(list)
    for citation in session.exec(
        select(RecommendationCitation)
        .where(RecommendationCitation.recommendation_id.in_(ids))
        .order_by(RecommendationCitation.recommendation_id, RecommendationCitation.id)
    ):
        citations[citation.recommendation_id].append(CitationPublic.model_validate(citation))
    calendars = dict(
        session.exec(
            select(Report.id, Report.calendar).where(Report.id.in_({r.report_id for r in recommendations}))
        ).all()
    )
    views = []
    for recommendation in recommendations:
        state = deadline_state(
            due=recommendation.due_date,
            status=Status(recommendation.status),
            today=as_of,
            calendar=calendar_for(calendars[recommendation.report_id]),
            due_soon_working_days=due_soon_working_days,
        )
        views.append(
            RecommendationPublic(
                **recommendation.model_dump(exclude={"position", "due_date", "status"}),
                status=recommendation.status,
                owners=owners[recommendation.id],
                citations=citations[recommendation.id],
                effective_due_date=recommendation.due_date,
                as_of=as_of,
                overdue=state.overdue,
                days_overdue=state.days_overdue,
                working_days_overdue=state.working_days_overdue,
                due_soon=state.due_soon,
                rag=state.rag,
            )
        )
    return views
