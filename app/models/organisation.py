from datetime import datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from app.domain.status import OrganisationKind
from app.models.base import StrEnumColumn, UTCDateTime

ORGANISATION_KINDS = ", ".join(f"'{k.value}'" for k in OrganisationKind)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"
    __table_args__ = (
        # Codes are unique whatever their case: "Locala" and "LOCALA" are one organisation.
        Index("uq_organisation_code_lower", text("lower(code)"), unique=True),
        CheckConstraint(f"kind IN ({ORGANISATION_KINDS})", name="kind_valid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=300)
    kind: OrganisationKind = Field(sa_type=StrEnumColumn(OrganisationKind, 40))
    # Where reminders go by email (when the operator sets RECTRACK_SMTP_URL).
    contact_email: str | None = Field(default=None, max_length=320)
    # Bumped by every change to what the resource shows; its ETag comes from it.
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
