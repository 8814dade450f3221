from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from app.domain.calendar import CALENDARS
from app.schemas.common import (
    Day,
    HttpUrl,
    Name,
    OrganisationCode,
    PatchModel,
    RequestModel,
    ResponseModel,
    Slug,
    text,
)
from app.schemas.summaries import ActionPlan

CalendarName = Literal[CALENDARS]  # type: ignore[valid-type]
Title = text(500)
WorkingDays = Annotated[int, Field(ge=1, le=365)]
OrganisationCodes = Annotated[list[OrganisationCode], Field(max_length=50)]


def check_report_dates(model) -> None:
    """Raise ValueError when the dates of a report (new or merged with a patch) disagree."""
    start, end = model.review_start_date, model.review_end_date
    if start and end and end < start:
        raise ValueError("review_end_date is before review_start_date")
    received = model.received_date or model.published_date
    submitted = model.action_plan_submitted_date
    if submitted and received and submitted < received:
        raise ValueError("action_plan_submitted_date is before the report was received")


class ReportCreate(RequestModel):
    slug: Slug = Field(examples=["kirklees-clas-2018"])
    title: Title
    regulator: Name = Field(examples=["Care Quality Commission"])
    area: Name | None = Field(default=None, examples=["Kirklees"])
    review_start_date: Day | None = None
    review_end_date: Day | None = None
    published_date: Day | None = None
    received_date: Day | None = Field(
        default=None, description="When the owners received the report; defaults to published_date."
    )
    working_days_allowed: WorkingDays = 20
    calendar: CalendarName = "england-and-wales"
    action_plan_organisations: OrganisationCodes = Field(
        default_factory=list,
        description="Codes of the organisations the action plan is required from.",
        examples=[["GHCCG", "NKCCG"]],
    )
    action_plan_submitted_date: Day | None = None
    source_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _dates(self) -> "ReportCreate":
        if self.received_date is None and self.published_date is None:
            raise ValueError("give received_date or published_date")
        check_report_dates(self)
        return self


class ReportUpdate(PatchModel):
    not_nullable = frozenset(
        {
            "slug",
            "title",
            "regulator",
            "received_date",
            "working_days_allowed",
            "calendar",
            "action_plan_organisations",
        }
    )

    slug: Slug | None = None
    title: Title | None = None
    regulator: Name | None = None
    area: Name | None = None
    review_start_date: Day | None = None
    review_end_date: Day | None = None
    published_date: Day | None = None
    received_date: Day | None = None
    working_days_allowed: WorkingDays | None = None
    calendar: CalendarName | None = None
    action_plan_organisations: OrganisationCodes | None = None
    action_plan_submitted_date: Day | None = None
    source_url: HttpUrl | None = None


class OrganisationRef(ResponseModel):
    id: int
    code: str
    name: str


class ReportPublic(ResponseModel):
    id: int
    slug: str
    title: str
    regulator: str
    area: str | None
    review_start_date: date | None
    review_end_date: date | None
    published_date: date | None
    received_date: date
    working_days_allowed: int
    calendar: str
    action_plan_due_date: date
    action_plan_submitted_date: date | None
    action_plan_organisations: list[OrganisationRef]
    source_url: str | None
    recommendation_count: int
    action_plan: ActionPlan = Field(description="The action plan's state as of `as_of`.")
    created_at: datetime
    updated_at: datetime


class SkippedDay(ResponseModel):
    date: date
    reason: str = Field(examples=["Spring bank holiday", "Saturday"])


class DeadlineExplanation(ResponseModel):
    """How the action-plan due date is counted."""

    report_id: int
    calendar: str
    received_date: date
    working_days: int
    due_date: date
    counted_days: list[date] = Field(description="Working days 1 to N; the day of receipt is not counted.")
    skipped_days: list[SkippedDay] = Field(
        description="Weekends and holidays between receipt and the due date."
    )
    action_plan: ActionPlan
