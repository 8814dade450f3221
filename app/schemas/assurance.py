from datetime import date, datetime

from pydantic import Field, model_validator

from app.domain.status import DecisionKind
from app.schemas.common import Day, Note, OrganisationCode, RequestModel, ResponseModel


class DecisionCreate(RequestModel):
    decision: DecisionKind = Field(
        description="`verified` (every owner implemented), `closed_not_implemented` or `reopened`."
    )
    reason: Note | None = Field(
        default=None, description="Why; required to close without implementation and to reopen."
    )

    @model_validator(mode="after")
    def _reason_where_required(self) -> "DecisionCreate":
        if self.decision is not DecisionKind.VERIFIED and not (self.reason and self.reason.strip()):
            raise ValueError(f"a reason is required to mark a recommendation {self.decision.value}")
        return self


class DecisionPublic(ResponseModel):
    id: int
    recommendation_id: int
    decision: DecisionKind
    reason: str | None
    decided_on: date
    api_key_id: int | None
    created_at: datetime


class TargetDateChange(RequestModel):
    target_date: Day | None = Field(description="The new target date; null removes it.")
    reason: Note | None = Field(
        default=None, description="Why; required once the action plan has been submitted."
    )
    organisation_code: OrganisationCode | None = Field(
        default=None, description="The owning organisation making the change (admins and assurers name it)."
    )


class TargetDateRevisionPublic(ResponseModel):
    id: int
    recommendation_id: int
    old_date: date | None
    new_date: date | None
    reason: str | None
    organisation_id: int | None
    api_key_id: int | None
    created_at: datetime
