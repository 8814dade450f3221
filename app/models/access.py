from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.domain.status import DecisionKind, Role
from app.models.base import StrEnumColumn, UTCDateTime

ROLES_SQL = ", ".join(f"'{r.value}'" for r in Role)


class ApiKey(SQLModel, table=True):
    """An API key. Only a keyed hash of the secret is stored; it is shown once, when created."""

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES_SQL})", name="role_valid"),
        CheckConstraint("(role = 'editor') = (organisation_id IS NOT NULL)", name="editor_has_organisation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    role: Role = Field(sa_type=StrEnumColumn(Role, 16))
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


DECISIONS_SQL = ", ".join(f"'{d.value}'" for d in DecisionKind)


class AssuranceDecision(SQLModel, table=True):
    """An assurer's verdict on a recommendation: verified, closed unimplemented, or reopened."""

    __tablename__ = "assurance_decision"
    __table_args__ = (
        CheckConstraint(f"decision IN ({DECISIONS_SQL})", name="decision_valid"),
        Index("ix_assurance_decision_recommendation_id_decided_on", "recommendation_id", "decided_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", ondelete="CASCADE")
    decision: DecisionKind = Field(sa_type=StrEnumColumn(DecisionKind, 32))
    reason: str | None = Field(default=None, max_length=2000)
    decided_on: date
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TargetDateRevision(SQLModel, table=True):
    """A change of a recommendation's target date, with who made it and why."""

    __tablename__ = "target_date_revision"

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", index=True, ondelete="CASCADE")
    old_date: date | None = None
    new_date: date | None = None
    reason: str | None = Field(default=None, max_length=2000)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One write, appended in the same transaction as the write itself. Never updated or deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    role: str = Field(max_length=16)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    action: str = Field(max_length=40, index=True)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    before: dict | None = Field(default=None, sa_type=JSON)
    after: dict | None = Field(default=None, sa_type=JSON)
    request_id: str | None = Field(default=None, max_length=128)
