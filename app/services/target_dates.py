"""Target dates set by owners, and every change to them kept as a revision."""

from datetime import date, datetime

from sqlmodel import Session, select

from app.domain.access import Actor
from app.domain.report_dates import review_began, target_date_problem
from app.errors import InvalidInput
from app.models import Recommendation, Report, TargetDateRevision
from app.schemas.assurance import TargetDateChange
from app.services import audit, change_scopes, recommendation_rows, tallies, versions
from app.services.paging import fetch_page
from app.services.progress import acting_owner


def change_target_date(
    session: Session,
    *,
    actor: Actor,
    recommendation: Recommendation,
    data: TargetDateChange,
    expected_version: int,
    today: date,
    now: datetime,
    horizon_years: int = 10,
) -> Recommendation:
    recommendation_rows.lock(session, recommendation.id)
    session.refresh(recommendation)  # as the lock found it
    organisation = acting_owner(
        session, actor=actor, recommendation=recommendation, code=data.organisation_code
    )
    report = session.get(Report, recommendation.report_id)
    if data.target_date is not None:
        began = review_began(report.review_start_date, report.published_date, report.received_date)
        problem = target_date_problem(
            data.target_date, began=began, received=report.received_date, horizon_years=horizon_years
        )
        if problem:
            raise InvalidInput(f"{problem}.", code="implausible_date")
    submitted = report.action_plan_submitted_date
    if submitted is not None and submitted <= today and not (data.reason and data.reason.strip()):
        raise InvalidInput(
            "The action plan was submitted on "
            f"{submitted.isoformat()}: a change of target date needs a reason."
        )
    before = audit.snapshot(recommendation)
    versions.claim(session, recommendation, expected_version)
    revision = TargetDateRevision(
        recommendation_id=recommendation.id,
        old_date=recommendation.target_date,
        new_date=data.target_date,
        reason=data.reason,
        organisation_id=organisation.id,
        api_key_id=actor.api_key_id,
        created_at=now,
    )
    session.add(revision)
    with tallies.kept(session, recommendation_ids=[recommendation.id]):
        recommendation.target_date = data.target_date
        if recommendation.original_target_date is None:
            recommendation.original_target_date = data.target_date
        recommendation.due_date = data.target_date or report.action_plan_due_date
        recommendation.updated_at = now
        session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="change_target_date",
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before=before,
        after={**audit.snapshot(recommendation), "revision_id": revision.id},
        scopes=change_scopes.of_recommendation(session, recommendation.id),
    )
    session.commit()
    return recommendation


def list_revisions(
    session: Session, *, recommendation: Recommendation, limit: int, offset: int
) -> tuple[list[TargetDateRevision], int]:
    query = select(TargetDateRevision).where(TargetDateRevision.recommendation_id == recommendation.id)
    return fetch_page(session, query, order_by=[TargetDateRevision.id], limit=limit, offset=offset)
