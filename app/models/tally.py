"""Counts of recommendations and owners that the current summaries are summed from; every write
keeps them in step in its own transaction (``app.domain.tallies``, ``app.services.tallies``).

A count may be left at zero when its last row moves away: readers skip zeros."""

from datetime import date

from sqlmodel import Field, SQLModel


class RecommendationTally(SQLModel, table=True):
    """Recommendations by their report's calendar, their status and their effective due date."""

    __tablename__ = "recommendation_tally"

    calendar: str = Field(max_length=32, primary_key=True)
    status: str = Field(max_length=32, primary_key=True)
    due_date: date = Field(primary_key=True)
    n: int


class OwnerStatusTally(SQLModel, table=True):
    """Owners (one per recommendation owned) by organisation and the owner's status."""

    __tablename__ = "owner_status_tally"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    owner_status: str = Field(max_length=32, primary_key=True)
    n: int


class OwnerDueTally(SQLModel, table=True):
    """Owners still answerable (not implemented, the recommendation neither verified nor
    closed) by organisation and the recommendation's effective due date."""

    __tablename__ = "owner_due_tally"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    due_date: date = Field(primary_key=True)
    n: int
