from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.domain.status import OWNER_STATUSES_SQL, OwnerStatus
from app.models.base import StrEnumColumn, UTCDateTime


class ProgressUpdate(SQLModel, table=True):
    """An owner's report of progress. Append-only: corrected by a newer one."""

    __tablename__ = "progress_update"
    __table_args__ = (
        CheckConstraint(f"status IN ({OWNER_STATUSES_SQL})", name="status_valid"),
        # The latest update of each owner as of a date.
        Index(
            "ix_progress_update_owner_reported_on",
            "recommendation_id",
            "organisation_id",
            "reported_on",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author: str = Field(max_length=200)
    narrative: str = Field(max_length=10000)
    status: OwnerStatus = Field(sa_type=StrEnumColumn(OwnerStatus, 32))
    reported_on: date
    created_at: datetime = Field(sa_type=UTCDateTime)


class EvidenceLink(SQLModel, table=True):
    __tablename__ = "evidence_link"
    __table_args__ = (
        CheckConstraint("url LIKE 'http://%' OR url LIKE 'https://%'", name="url_scheme_http"),
        Index(
            "ix_evidence_link_recommendation_id_organisation_id",
            "recommendation_id",
            "organisation_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    progress_update_id: int | None = Field(default=None, foreign_key="progress_update.id", index=True)
    url: str = Field(max_length=2000)
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
