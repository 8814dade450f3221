"""Progress updates and evidence: the only way statuses change."""

from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.domain.access import Actor, NotAllowed, acting_organisation
from app.domain.status import TERMINAL_STATUSES, Status, evidence_required, roll_up
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from app.models import (
    EvidenceLink,
    Organisation,
    ProgressUpdate,
    Recommendation,
    RecommendationOwner,
)
from app.schemas.progress import (
    EvidenceLinkCreate,
    EvidenceLinkPublic,
    ProgressUpdateCreate,
    ProgressUpdatePublic,
)
from app.services import audit, versions
from app.services.organisations import find_by_code
from app.services.paging import fetch_page


def _owners(session: Session, recommendation_id: int) -> list[tuple[RecommendationOwner, Organisation]]:
    return list(
        session.exec(
            select(RecommendationOwner, Organisation)
            .join(Organisation, Organisation.id == RecommendationOwner.organisation_id)
            .where(RecommendationOwner.recommendation_id == recommendation_id)
            .order_by(RecommendationOwner.position)
        ).all()
    )


def acting_owner(
    session: Session,
    *,
    actor: Actor,
    recommendation: Recommendation,
    code: str | None,
    owners: list[tuple[RecommendationOwner, Organisation]] | None = None,
) -> tuple[RecommendationOwner, Organisation]:
    """The owner a write is for: an editor's own organisation, or the one an admin or assurer names."""
    if owners is None:
        owners = _owners(session, recommendation.id)
    named = None
    if code is not None:
        # Usually one of the owners: only another code needs looking up (to tell "no such
        # organisation" from "not an owner").
        organisation = next((o for _, o in owners if o.code.lower() == code.lower()), None)
        organisation = organisation or find_by_code(session, code)
        if organisation is None:
            raise InvalidInput(f"No organisation has the code {code!r}.")
        named = organisation.id
    try:
        organisation_id = acting_organisation(actor, named=named, owners=[o.id for _, o in owners])
    except NotAllowed as refusal:
        raise Forbidden(refusal.reason) from None
    if organisation_id is None:
        codes = ", ".join(o.code for _, o in owners)
        raise InvalidInput(
            f"Name the owning organisation this is for in organisation_code (owners of "
            f"{recommendation.ref}: {codes})."
        )
    for owner, organisation in owners:
        if organisation.id == organisation_id:
            return owner, organisation
    raise RuleViolation(
        f"{code} does not own recommendation {recommendation.ref}; "
        f"its owners are {', '.join(o.code for _, o in owners)}.",
        code="not_an_owner",
    )


def lock_recommendation(session: Session, recommendation_id: int) -> Recommendation:
    """Read the recommendation, fresh, with a row lock, so concurrent writers take turns."""
    recommendation = session.exec(
        select(Recommendation)
        .where(Recommendation.id == recommendation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if recommendation is None:
        raise NotFound(f"Recommendation {recommendation_id} does not exist.")
    return recommendation


def _evidence_count(session: Session, recommendation_id: int, organisation_id: int) -> int:
    return session.exec(
        select(func.count()).where(
            EvidenceLink.recommendation_id == recommendation_id,
            EvidenceLink.organisation_id == organisation_id,
        )
    ).one()


def _latest_status(session: Session, recommendation_id: int, organisation_id: int) -> str:
    """The owner's status from its latest update by ``reported_on`` (then by entry order)."""
    return session.exec(
        select(ProgressUpdate.status)
        .where(
            ProgressUpdate.recommendation_id == recommendation_id,
            ProgressUpdate.organisation_id == organisation_id,
        )
        .order_by(ProgressUpdate.reported_on.desc(), ProgressUpdate.id.desc())
        .limit(1)
    ).one()


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
    recommendation = lock_recommendation(session, recommendation_id)
    if Status(recommendation.status) in TERMINAL_STATUSES:
        raise Conflict(
            f"Recommendation {recommendation.ref} is {recommendation.status}; "
            "it must be reopened before progress can be reported.",
            code="recommendation_closed",
        )
    owners = _owners(session, recommendation.id)
    owner, organisation = acting_owner(
        session, actor=actor, recommendation=recommendation, code=data.organisation_code, owners=owners
    )
    if evidence_required(data.status, lambda: _evidence_count(session, recommendation.id, organisation.id)):
        raise RuleViolation(
            f"{organisation.code} has no evidence link on recommendation {recommendation.ref}; "
            "add one before reporting it implemented.",
            code="evidence_required",
        )
    update = ProgressUpdate(
        recommendation_id=recommendation.id,
        organisation_id=organisation.id,
        author=data.author,
        narrative=data.narrative,
        status=data.status,
        reported_on=reported_on,
        created_at=now,
    )
    session.add(update)
    session.flush()
    if owner.last_reported_on is None or reported_on >= owner.last_reported_on:
        owner.status = data.status  # the newest update: latest by date, then by entry
    else:  # a backdated update: an earlier one may still be the latest
        owner.status = _latest_status(session, recommendation.id, organisation.id)
    owner.last_reported_on = max(owner.last_reported_on or reported_on, reported_on)
    owner.updated_at = now
    session.add(owner)
    session.flush()
    before = recommendation.status
    recommendation.status = roll_up(o.status for o, _ in owners)  # owner's row is among them
    recommendation.last_event_on = max(recommendation.last_event_on or reported_on, reported_on)
    recommendation.updated_at = now
    versions.bump(recommendation)
    session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="progress_update",
        entity_id=update.id,
        now=now,
        after={
            **audit.snapshot(update),
            "recommendation_status": {"before": before, "after": recommendation.status},
        },
    )
    session.commit()
    return ProgressUpdatePublic(**update.model_dump(), organisation_code=organisation.code)


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
    session: Session, *, actor: Actor, recommendation: Recommendation, data: EvidenceLinkCreate, now: datetime
) -> EvidenceLinkPublic:
    recommendation = lock_recommendation(session, recommendation.id)
    _, organisation = acting_owner(
        session, actor=actor, recommendation=recommendation, code=data.organisation_code
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
