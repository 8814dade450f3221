from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from app.domain.deadlines import Rag
from app.domain.status import OwnerStatus, Status
from app.schemas.common import (
    Day,
    LongText,
    Name,
    OrganisationCode,
    ParagraphRef,
    RecommendationRef,
    RequestModel,
    ResponseModel,
)


class CitationIn(RequestModel):
    paragraph: ParagraphRef = Field(examples=["5.1.19"])
    section: Name | None = Field(default=None, examples=["Leadership and management"])


class RecommendationCreate(RequestModel):
    ref: RecommendationRef = Field(examples=["4.8"])
    text: LongText
    section: Name | None = None
    owners: Annotated[list[OrganisationCode], Field(min_length=1, max_length=20)] = Field(
        description="Codes of the owning organisations.", examples=[["NKCCG", "GHCCG"]]
    )
    citations: Annotated[list[CitationIn], Field(max_length=100)] = Field(default_factory=list)
    target_date: Day | None = None


class OwnerPublic(ResponseModel):
    organisation_id: int
    code: str
    name: str
    status: OwnerStatus


class CitationPublic(ResponseModel):
    paragraph: str
    section: str | None


class RecommendationPublic(ResponseModel):
    id: int
    report_id: int
    ref: str
    text: str
    section: str | None
    status: Status = Field(description="Least advanced owner's status, unless verified or closed.")
    owners: list[OwnerPublic]
    citations: list[CitationPublic]
    target_date: date | None
    original_target_date: date | None = Field(description="The first target date set.")
    slippage_working_days: int | None = Field(
        description="Working days from the original to the current target date (negative if brought forward)."
    )
    effective_due_date: date = Field(description="The target date, else the action-plan due date.")
    as_of: date = Field(description="The date the status and deadline figures are for.")
    overdue: bool
    days_overdue: int
    working_days_overdue: int
    due_soon: bool
    rag: Rag
    created_at: datetime
    updated_at: datetime
