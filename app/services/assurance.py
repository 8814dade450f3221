"""Assurers' decisions: verify, close without implementation, reopen."""

from datetime import date, datetime

from sqlmodel import Session, select

from app.domain.access import Actor
from app.domain.status import DecisionRefused, status_after_decision
from app.errors import Conflict
from app.models import AssuranceDecision, Recommendation, RecommendationOwner
from app.schemas.assurance import DecisionCreate
from app.services import audit, change_scopes, recommendation_rows, tallies
from app.services.paging import fetch_page


def decide(
    session: Session,
    *,
    actor: Actor,
    recommendation_id: int,
    data: DecisionCreate,
    today: date,
    now: datetime,
) -> AssuranceDecision:
    recommendation = recommendation_rows.lock(session, recommendation_id)
    current = recommendation.status
    owner_statuses = list(
        session.exec(
            select(RecommendationOwner.status).where(
                RecommendationOwner.recommendation_id == recommendation.id
            )
        )
    )
    try:
        new_status = status_after_decision(recommendation.ref, current, data.decision, owner_statuses)
    except DecisionRefused as refused:
        raise Conflict(refused.detail, code=refused.code) from refused
    decision = AssuranceDecision(
        recommendation_id=recommendation.id,
        decision=data.decision,
        reason=data.reason,
        decided_on=today,
        api_key_id=actor.api_key_id,
        created_at=now,
    )
    session.add(decision)
    session.flush()
    with tallies.kept(session, recommendation_ids=[recommendation.id]):
        recommendation_rows.set_status(session, recommendation, new_status, event_on=today, now=now)
    audit.record(
        session,
        actor=actor,
        action=data.decision,
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before={"status": current},
        after={"status": new_status, "reason": data.reason, "decision_id": decision.id},
        scopes=change_scopes.of_recommendation(session, recommendation.id),
    )
    session.commit()
    return decision


def list_decisions(
    session: Session, *, recommendation: Recommendation, limit: int, offset: int
) -> tuple[list[AssuranceDecision], int]:
    query = select(AssuranceDecision).where(AssuranceDecision.recommendation_id == recommendation.id)
    return fetch_page(session, query, order_by=[AssuranceDecision.id], limit=limit, offset=offset)
