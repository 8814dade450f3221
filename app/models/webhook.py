"""Webhook endpoints, the messages sent to them, one delivery per endpoint and message,
each attempt, the change-feed cursor the worker fans out from, and the workers' leases."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime

DELIVERY_STATES = ("pending", "succeeded", "failed")
DELIVERY_STATES_SQL = ", ".join(f"'{s}'" for s in DELIVERY_STATES)


class WebhookEndpoint(SQLModel, table=True):
    """Where to send events. Secrets are stored encrypted (see app.services.webhook_secrets)."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    # None: every event type, including those added later.
    event_types: list[str] | None = Field(default=None, sa_type=JSON)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True, ondelete="CASCADE")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="CASCADE"
    )
    secret_encrypted: str = Field(sa_type=Text)
    # After a rotation the previous secret signs beside the new one until it expires.
    previous_secret_encrypted: str | None = Field(default=None, sa_type=Text)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=200)
    # The first failure of the current run of failures; cleared by a success.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The audit event of its creation: it is sent the changes after that one. Event ids are
    # handed out in commit order; timestamps can tie or run backwards.
    starts_after_event_id: int = Field(default=0)
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookMessage(SQLModel, table=True):
    """One event, as the exact body every endpoint is sent (signatures cover these bytes)."""

    __tablename__ = "webhook_message"

    id: int | None = Field(default=None, primary_key=True)
    event_type: str = Field(max_length=64)
    body: str = Field(sa_type=Text)
    # The change it came from; None for reminders.
    audit_event_id: int | None = Field(default=None, foreign_key="audit_event.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One message to one endpoint, until it succeeds or is given up."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "message_id"),
        CheckConstraint(f"state IN ({DELIVERY_STATES_SQL})", name="state_valid"),
        Index("ix_webhook_delivery_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True, ondelete="CASCADE")
    message_id: int = Field(foreign_key="webhook_message.id", index=True, ondelete="CASCADE")
    state: str = Field(default="pending", max_length=16)
    # Attempts since it was queued or redelivered: the step of the retry schedule.
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # The worker sending it now; its lease (webhook_worker) says whether it is still alive.
    claimed_by: str | None = Field(default=None, max_length=64)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery: the delivery log."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True, ondelete="CASCADE")
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int


class WebhookOutboxCursor(SQLModel, table=True):
    """How far along the change feed the worker has fanned events out (one row)."""

    __tablename__ = "webhook_outbox_cursor"

    id: int = Field(primary_key=True)
    last_event_id: int = 0


class WebhookWorker(SQLModel, table=True):
    """A running worker's lease, renewed while it lives. A delivery claimed by a worker whose
    lease has run out (killed, say) is free for another."""

    __tablename__ = "webhook_worker"

    id: str = Field(primary_key=True, max_length=64)
    started_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
