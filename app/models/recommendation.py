from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.domain.status import OWNER_STATUSES_SQL, RECOMMENDATION_STATUSES_SQL, OwnerStatus, Status
from app.models.base import StrEnumColumn, UTCDateTime


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendation"
    __table_args__ = (
        UniqueConstraint("report_id", "ref"),
        CheckConstraint(f"status IN ({RECOMMENDATION_STATUSES_SQL})", name="status_valid"),
        Index("ix_recommendation_report_id_position", "report_id", "position"),
        Index("ix_recommendation_status_due_date", "status", "due_date"),
        # Due-date order for the overdue and due-date lists (a page walks it and stops), and
        # the status beside it so counting the overdue reads the index alone.
        Index("ix_recommendation_due_date_status", "due_date", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", ondelete="CASCADE")
    ref: str = Field(max_length=20)
    # Order within the report ("4.10" after "4.9"), derived from ref.
    position: int
    text: str = Field(max_length=10000)
    section: str | None = Field(default=None, max_length=200)
    # The current rolled-up status, kept in step with the owners' statuses
    # by the service that records progress.
    status: Status = Field(default=Status.NOT_STARTED, sa_type=StrEnumColumn(Status, 32))
    target_date: date | None = None
    # The first target date set, kept to show slippage.
    original_target_date: date | None = None
    # Effective due date: target_date, else the report's action-plan due date.
    due_date: date
    # The latest day anything changed its status (a progress update's reported_on, an
    # assurer's decided_on). From that day on, the stored status is the status as of
    # any date, so "as of" questions need the history only before it.
    last_event_on: date | None = None
    # Bumped by every change to what the resource shows; its ETag comes from it.
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecommendationOwner(SQLModel, table=True):
    """One owning organisation of a recommendation, with its own status."""

    __tablename__ = "recommendation_owner"
    __table_args__ = (
        UniqueConstraint("recommendation_id", "organisation_id"),
        CheckConstraint(f"status IN ({OWNER_STATUSES_SQL})", name="status_valid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    position: int = 0
    status: OwnerStatus = Field(default=OwnerStatus.NOT_STARTED, sa_type=StrEnumColumn(OwnerStatus, 32))
    # The latest reported_on of this owner's progress updates (see Recommendation.last_event_on).
    last_reported_on: date | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecommendationCitation(SQLModel, table=True):
    """A report paragraph that cites the recommendation."""

    __tablename__ = "recommendation_citation"
    __table_args__ = (UniqueConstraint("recommendation_id", "paragraph"),)

    id: int | None = Field(default=None, primary_key=True)
    recommendation_id: int = Field(foreign_key="recommendation.id", ondelete="CASCADE")
    paragraph: str = Field(max_length=20)
    section: str | None = Field(default=None, max_length=200)
