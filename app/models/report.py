from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.domain.calendar import CALENDARS
from app.models.base import UTCDateTime

CALENDAR_NAMES = ", ".join(f"'{name}'" for name in CALENDARS)


class Report(SQLModel, table=True):
    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(f"calendar IN ({CALENDAR_NAMES})", name="calendar_valid"),
        CheckConstraint("working_days_allowed BETWEEN 1 AND 365", name="working_days_allowed_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=500)
    regulator: str = Field(max_length=200)
    area: str | None = Field(default=None, max_length=200)
    review_start_date: date | None = None
    review_end_date: date | None = None
    published_date: date | None = None
    received_date: date
    working_days_allowed: int = 20
    calendar: str = Field(default="england-and-wales", max_length=32)
    # Derived from received_date, working_days_allowed and calendar, kept in the
    # row so that due dates and overdue filters can be computed by SQL.
    action_plan_due_date: date = Field(index=True)
    action_plan_submitted_date: date | None = None
    source_url: str | None = Field(default=None, max_length=2000)
    # Bumped by every change to what the resource shows; its ETag comes from it.
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReportActionPlanOrganisation(SQLModel, table=True):
    """The organisations the action plan is required from."""

    __tablename__ = "report_action_plan_organisation"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, index=True)
