"""Reminders sent, one per rule, subject, owner and date, and the emails that carry them."""

from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class Reminder(SQLModel, table=True):
    """A reminder that went out. The unique key makes it once, however often the rules run."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("rule", "subject", "organisation_id", "reminder_date"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=40)
    # "recommendation:<id>" or "action_plan:<report id>"
    subject: str = Field(max_length=40)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    recommendation_id: int | None = Field(
        default=None, foreign_key="recommendation.id", index=True, ondelete="CASCADE"
    )
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    reminder_date: date = Field(index=True)
    due_date: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReminderEmail(SQLModel, table=True):
    """An email to an organisation's contact address: written with the reminders, sent after."""

    __tablename__ = "reminder_email"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "sent_for"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # "daily" or "digest"
    sent_for: date
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    attempts: int = 0
    # Whoever sends it claims it until then, so two senders at once do not both send it.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
