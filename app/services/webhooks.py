"""Webhook endpoints (admin), the fan-out of changes to deliveries, and the deliveries'
bookkeeping for the worker. Sending itself is app.worker's: never inside a transaction."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Connection, delete, func, insert, or_, update
from sqlmodel import Session, select

from app.config import Settings
from app.domain.access import SYSTEM, Actor
from app.domain.webhook_delivery import Outcome, outcome
from app.domain.webhook_events import events_for_change, wanted
from app.domain.webhook_urls import Address, RefusedUrl, Target
from app.errors import InvalidInput, NotFound, RuleViolation
from app.models import (
    AuditEvent,
    Organisation,
    Recommendation,
    RecommendationOwner,
    Report,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    WebhookOutboxCursor,
    WebhookWorker,
)
from app.schemas.webhooks import (
    WebhookAttemptPublic,
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)
from app.services import audit, versions, webhook_secrets
from app.services.paging import fetch_page

# The URL's checked target and addresses (app.services.webhook_network.checked_target), or RefusedUrl.
CheckUrl = Callable[[str], tuple[Target, list[Address]]]


def message_id(message_id_: int) -> str:
    return f"msg_{message_id_}"


# -- endpoints -----------------------------------------------------------------


def _check_url(check_url: CheckUrl, url: str) -> str:
    """The URL normalised, as it is stored and called; a 422 problem when it is refused."""
    try:
        return check_url(url)[0].url
    except RefusedUrl as refused:
        raise RuleViolation(
            f"This URL cannot receive webhooks: {refused}.", code="webhook_url_refused"
        ) from None


def _check_filters(session: Session, report_id: int | None, organisation_id: int | None) -> None:
    if report_id is not None and session.get(Report, report_id) is None:
        raise InvalidInput(f"There is no report {report_id}.", code="unknown_report")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise InvalidInput(f"There is no organisation {organisation_id}.", code="unknown_organisation")


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any] | None:
    return audit.snapshot(
        endpoint, exclude={"secret_encrypted", "previous_secret_encrypted", "starts_after_event_id"}
    )


def create_endpoint(
    session: Session,
    *,
    actor: Actor,
    data: WebhookEndpointCreate,
    check_url: CheckUrl,
    settings: Settings,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret, which is not kept in the clear anywhere."""
    url = _check_url(check_url, data.url)
    _check_filters(session, data.report_id, data.organisation_id)
    secret = webhook_secrets.new_secret()
    endpoint = WebhookEndpoint(
        **{**data.model_dump(), "url": url},
        secret_encrypted=webhook_secrets.encrypt(secret, secret_key=settings.key_secret),
        created_at=now,
        updated_at=now,
    )
    _save(session, endpoint, actor=actor, action="create", now=now)
    return endpoint, secret



def _save(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    before: dict | None = None,
) -> None:
    """Writes the endpoint with its audit event, in one transaction."""
    session.add(endpoint)
    session.flush()
    event_id = audit.record(
        session,
        actor=actor,
        action=action,
        entity="webhook_endpoint",
        entity_id=endpoint.id,
        now=now,
        before=before,
        after=_snapshot(endpoint),
    )
    if action == "create":  # the changes committed after this one are the endpoint's
        endpoint.starts_after_event_id = event_id
        session.add(endpoint)
    session.commit()


def list_endpoints(session: Session, *, limit: int, offset: int) -> tuple[list[WebhookEndpoint], int]:
    return fetch_page(
        session, select(WebhookEndpoint), order_by=[WebhookEndpoint.id], limit=limit, offset=offset
    )


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"There is no webhook endpoint {endpoint_id}.")
    return endpoint


def update_endpoint(
    session: Session,
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    data: WebhookEndpointUpdate,
    expected_version: int,
    check_url: CheckUrl,
    now: datetime,
) -> WebhookEndpoint:
    changes = data.changes()
    if "url" in changes:
        changes["url"] = _check_url(check_url, changes["url"])
    _check_filters(session, changes.get("report_id"), changes.get("organisation_id"))
    before = _snapshot(endpoint)
    versions.claim(session, endpoint, expected_version)
    disabled = changes.pop("disabled", None)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if disabled is True and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = now, "disabled by an administrator"
    elif disabled is False:
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    endpoint.updated_at = now
    _save(session, endpoint, actor=actor, action="update", now=now, before=before)
    return endpoint


def rotate_secret(
    session: Session, *, actor: Actor, endpoint: WebhookEndpoint, settings: Settings, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing beside it for the overlap period."""
    before = _snapshot(endpoint)
    versions.bump(endpoint)
    secret = webhook_secrets.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + timedelta(hours=settings.webhook_secret_overlap_hours)
    endpoint.secret_encrypted = webhook_secrets.encrypt(secret, secret_key=settings.key_secret)
    endpoint.updated_at = now
    _save(session, endpoint, actor=actor, action="rotate_secret", now=now, before=before)
    return endpoint, secret


def delete_endpoint(session: Session, *, actor: Actor, endpoint: WebhookEndpoint, now: datetime) -> None:
    """The endpoint goes, with its deliveries and their log."""
    before = _snapshot(endpoint)
    connection = session.connection()
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    connection.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    connection.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity="webhook_endpoint",
        entity_id=before["id"],
        now=now,
        before=before,
    )
    session.commit()


# -- the delivery log ----------------------------------------------------------


def list_deliveries(
    session: Session, *, endpoint: WebhookEndpoint, limit: int, offset: int
) -> tuple[list[WebhookDeliveryPublic], int]:
    query = (
        select(WebhookDelivery, WebhookMessage.event_type)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    rows, total = fetch_page(session, query, order_by=[WebhookDelivery.id.desc()], limit=limit, offset=offset)
    ids = [delivery.id for delivery, _ in rows]
    attempts: dict[int, list[WebhookAttemptPublic]] = {i: [] for i in ids}
    if ids:
        for attempt in session.exec(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(
                WebhookAttemptPublic.model_validate(attempt, from_attributes=True)
            )
    return [_delivery_public(d, t, attempts[d.id]) for d, t in rows], total


def _delivery_public(
    delivery: WebhookDelivery, event_type: str, attempts: list[WebhookAttemptPublic]
) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        **delivery.model_dump(exclude={"message_id", "next_attempt_at"}),
        message_id=message_id(delivery.message_id),
        event_type=event_type,
        next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
        attempt_log=attempts,
    )


def redeliver(
    session: Session, *, actor: Actor, endpoint: WebhookEndpoint, delivery_id: int, now: datetime
) -> WebhookDeliveryPublic:
    """Queue the delivery again, at once, from the start of the retry schedule (same webhook-id)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"Webhook endpoint {endpoint.id} has no delivery {delivery_id}.")
    if endpoint.disabled_at is not None:
        raise RuleViolation(
            f"Webhook endpoint {endpoint.id} is disabled; enable it before redelivering.",
            code="webhook_endpoint_disabled",
        )
    before = {"state": delivery.state, "attempts": delivery.attempts}
    delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    delivery.claimed_by = delivery.completed_at = None
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="redeliver",
        entity="webhook_delivery",
        entity_id=delivery.id,
        now=now,
        before=before,
        after={"state": "pending", "endpoint_id": endpoint.id},
    )
    session.commit()
    event_type = session.get(WebhookMessage, delivery.message_id).event_type
    attempts = [
        WebhookAttemptPublic.model_validate(a, from_attributes=True)
        for a in session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id))
    ]
    return _delivery_public(delivery, event_type, attempts)


# -- fan-out: the change feed is the outbox ------------------------------------


@dataclass(frozen=True)
class Subject:
    """Who and what an event is about, for its data and for the endpoints' filters."""

    report_id: int | None
    recommendation_id: int | None = None
    organisation_id: int | None = None


def _subject(session: Session, event: AuditEvent) -> Subject:
    after = event.after or {}
    if event.entity == "report":
        return Subject(event.entity_id)
    if event.entity in ("progress_update", "evidence_link"):
        recommendation = session.get(Recommendation, after.get("recommendation_id"))
        return Subject(
            recommendation.report_id if recommendation else None,
            after.get("recommendation_id"),
            after.get("organisation_id"),
        )
    recommendation = session.get(Recommendation, event.entity_id)
    return Subject(recommendation.report_id if recommendation else None, event.entity_id)


def event_data(session: Session, subject: Subject) -> tuple[dict[str, Any], set[int]]:
    """The report, recommendation and organisation(s) an event names, and the ids of the
    organisations it concerns (for endpoints limited to one)."""
    data: dict[str, Any] = {}
    concerned: set[int] = set()
    report = session.get(Report, subject.report_id) if subject.report_id else None
    data["report"] = {"id": report.id, "slug": report.slug, "title": report.title} if report else None
    if subject.recommendation_id is not None:
        recommendation = session.get(Recommendation, subject.recommendation_id)
        data["recommendation"] = (
            {"id": recommendation.id, "ref": recommendation.ref, "status": recommendation.status}
            if recommendation
            else {"id": subject.recommendation_id}
        )
        owners = session.exec(
            select(Organisation)
            .join(RecommendationOwner, RecommendationOwner.organisation_id == Organisation.id)
            .where(RecommendationOwner.recommendation_id == subject.recommendation_id)
            .order_by(RecommendationOwner.position, Organisation.code)
        ).all()
        data["owners"] = [_organisation(o) for o in owners]
        concerned |= {o.id for o in owners}
    organisation = session.get(Organisation, subject.organisation_id) if subject.organisation_id else None
    data["organisation"] = _organisation(organisation) if organisation else None
    if organisation:
        concerned.add(organisation.id)
    return data, concerned


def _organisation(organisation: Organisation) -> dict[str, Any]:
    return {"id": organisation.id, "code": organisation.code, "name": organisation.name}


def _matches(
    endpoint: WebhookEndpoint,
    event_type: str,
    report_id: int | None,
    concerned: set[int],
    audit_event_id: int | None,
) -> bool:
    # A reminder (no audit event) goes to the endpoints its own transaction sees.
    return (
        (audit_event_id is None or audit_event_id > endpoint.starts_after_event_id)
        and wanted(event_type, endpoint.event_types)
        and (endpoint.report_id is None or endpoint.report_id == report_id)
        and (endpoint.organisation_id is None or endpoint.organisation_id in concerned)
    )


def enqueue(
    session: Session,
    *,
    event_type: str,
    data: dict[str, Any],
    report_id: int | None,
    concerned: set[int],
    occurred_at: datetime,
    now: datetime,
    endpoints: Sequence[WebhookEndpoint],
    audit_event_id: int | None = None,
) -> int:
    """One message and a delivery to each endpoint that wants it, in the caller's transaction.
    The number of deliveries."""
    targets = [e for e in endpoints if _matches(e, event_type, report_id, concerned, audit_event_id)]
    if not targets:
        return 0
    body = json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    connection = session.connection()
    message = connection.execute(
        insert(WebhookMessage).returning(WebhookMessage.id),
        {"event_type": event_type, "body": body, "audit_event_id": audit_event_id, "created_at": now},
    ).scalar_one()
    connection.execute(
        insert(WebhookDelivery),
        [
            {
                "endpoint_id": e.id,
                "message_id": message,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for e in targets
        ],
    )
    return len(targets)


def active_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))).all())


def fan_out(session: Session, *, now: datetime, batch: int = 200) -> int:
    """Turn the changes committed since the cursor into deliveries, and move the cursor on, in
    one transaction: a crash either does both or neither. The number of changes read."""
    cursor = session.exec(
        select(WebhookOutboxCursor).where(WebhookOutboxCursor.id == 1).with_for_update()
    ).one()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.id > cursor.last_event_id).order_by(AuditEvent.id).limit(batch)
    ).all()
    if not events:
        session.rollback()
        return 0
    endpoints = active_endpoints(session)
    for event in events:
        changes = events_for_change(
            entity=event.entity, action=event.action, before=event.before, after=event.after
        )
        if not changes or not endpoints:
            continue
        subject = _subject(session, event)
        data, concerned = event_data(session, subject)
        for change in changes:
            enqueue(
                session,
                event_type=change.type,
                data={**data, **change.details},
                report_id=subject.report_id,
                concerned=concerned,
                occurred_at=event.occurred_at,
                now=now,
                endpoints=endpoints,
                audit_event_id=event.id,
            )
    cursor.last_event_id = events[-1].id
    session.add(cursor)
    session.commit()
    return len(events)


# -- workers and their claims --------------------------------------------------


class AnotherWorkerRuns(RuntimeError):
    """On SQLite only one worker may run."""


def hold_lease(session: Session, *, worker_id: str, now: datetime, lease: timedelta, single: bool) -> None:
    """Take or renew this worker's lease; AnotherWorkerRuns if ``single`` and another holds one."""
    connection = session.connection()
    connection.execute(delete(WebhookWorker).where(WebhookWorker.expires_at <= now))
    if single:
        others = connection.execute(
            select(func.count()).select_from(WebhookWorker).where(WebhookWorker.id != worker_id)
        ).scalar_one()
        if others:
            session.rollback()
            raise AnotherWorkerRuns("another worker holds the lease")
    renewed = connection.execute(
        update(WebhookWorker).where(WebhookWorker.id == worker_id).values(expires_at=now + lease)
    ).rowcount
    if not renewed:
        connection.execute(
            insert(WebhookWorker), {"id": worker_id, "started_at": now, "expires_at": now + lease}
        )
    session.commit()


def release_lease(session: Session, *, worker_id: str) -> None:
    session.connection().execute(delete(WebhookWorker).where(WebhookWorker.id == worker_id))
    session.commit()


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: int
    endpoint_id: int
    url: str
    message_id: str
    body: str
    secrets: list[str]
    attempts: int
    failing_since: datetime | None


def claim_due(
    session: Session, *, worker_id: str, now: datetime, settings: Settings, limit: int = 10
) -> list[DeliveryJob]:
    """Deliveries due now and not being sent by a live worker, claimed for ``worker_id``.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets workers claim side by side without waiting
    for or taking each other's rows; SQLite runs one worker, which takes the write lock.
    """
    live = select(WebhookWorker.id).where(WebhookWorker.expires_at > now)
    query = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.disabled_at.is_(None),
            or_(WebhookDelivery.claimed_by.is_(None), WebhookDelivery.claimed_by.not_in(live)),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.connection().dialect.name == "postgresql":
        query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
    ids = list(session.exec(query).all())
    if not ids:
        session.rollback()
        return []
    session.connection().execute(
        update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(claimed_by=worker_id)
    )
    rows = session.exec(
        select(WebhookDelivery, WebhookEndpoint, WebhookMessage)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    ).all()
    jobs = [
        DeliveryJob(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            message_id=message_id(message.id),
            body=message.body,
            secrets=_signing_secrets(endpoint, settings, now),
            attempts=delivery.attempts,
            failing_since=endpoint.failing_since,
        )
        for delivery, endpoint, message in rows
    ]
    session.commit()
    return jobs


def _signing_secrets(endpoint: WebhookEndpoint, settings: Settings, now: datetime) -> list[str]:
    """The secrets that sign now. One stored under another RECTRACK_SECRET_KEY cannot be read:
    without the current one the delivery fails unsent, and the endpoint needs a rotation."""
    encrypted = [endpoint.secret_encrypted]
    overlap_ends = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and overlap_ends and overlap_ends > now:
        encrypted.append(endpoint.previous_secret_encrypted)
    secrets = []
    for token in encrypted:
        try:
            secrets.append(webhook_secrets.decrypt(token, secret_key=settings.key_secret))
        except InvalidToken:
            if token is endpoint.secret_encrypted:
                return []
    return secrets


@dataclass(frozen=True)
class AttemptResult:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None


def record_attempt(
    session: Session,
    *,
    job: DeliveryJob,
    worker_id: str,
    result: AttemptResult,
    settings: Settings,
    now: datetime,
) -> Outcome:
    """Log the attempt and decide what follows: done, retry when, or give up (and perhaps
    disable the endpoint, with an audit event)."""
    connection = session.connection()
    connection.execute(
        insert(WebhookAttempt),
        {
            "delivery_id": job.delivery_id,
            "attempted_at": result.attempted_at,
            "status_code": result.status_code,
            "error": (result.error or None) and result.error[:500],
            "duration_ms": result.duration_ms,
        },
    )
    endpoint = session.get(WebhookEndpoint, job.endpoint_id)
    failing_since = None if endpoint is None else endpoint.failing_since
    decided = outcome(
        status_code=result.status_code,
        attempts_made=job.attempts + 1,
        schedule=settings.retry_schedule,
        now=now,
        failing_since=failing_since,
        retry_after_header=result.retry_after,
    )
    if decided.succeeded:
        state, completed = "succeeded", now
    elif decided.next_attempt_at is not None:
        state, completed = "pending", None
    else:
        state, completed = "failed", now
    connection.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.claimed_by == worker_id)
        .values(
            state=state,
            attempts=job.attempts + 1,
            next_attempt_at=decided.next_attempt_at or now,
            claimed_by=None,
            last_status_code=result.status_code,
            last_error=(result.error or None) and result.error[:500],
            completed_at=completed,
        )
    )
    if endpoint is not None:
        if decided.succeeded:
            endpoint.failing_since = None
        elif endpoint.failing_since is None:
            endpoint.failing_since = result.attempted_at
        if decided.disable_endpoint and endpoint.disabled_at is None:
            before = _snapshot(endpoint)
            endpoint.disabled_at = now
            endpoint.disabled_reason = (
                "the receiver answered 410 Gone"
                if result.status_code == 410
                else "five days of failed deliveries"
            )
            versions.bump(endpoint)
            endpoint.updated_at = now
            audit.record(
                session,
                actor=SYSTEM,
                action="disable",
                entity="webhook_endpoint",
                entity_id=endpoint.id,
                now=now,
                before=before,
                after=_snapshot(endpoint),
            )
        session.add(endpoint)
    session.commit()
    return decided


# -- metrics -------------------------------------------------------------------


def delivery_metrics(connection: Connection, *, now: datetime) -> tuple[dict[str, int], float]:
    """Deliveries by state, and the age in seconds of the oldest pending one (0 when none)."""
    counts = dict(
        connection.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all()
    )
    oldest = connection.execute(
        select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.state == "pending")
    ).scalar()
    if oldest is not None and oldest.tzinfo is None:  # SQLite keeps no zone; the column is UTC
        oldest = oldest.replace(tzinfo=UTC)
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return {s: int(counts.get(s, 0)) for s in ("pending", "succeeded", "failed")}, age
