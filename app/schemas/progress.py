from datetime import date, datetime

from pydantic import Field

from app.domain.status import OwnerStatus
from app.schemas.common import (
    Day,
    HttpUrl,
    LongText,
    Name,
    Note,
    OrganisationCode,
    RequestModel,
    ResponseModel,
    ShortText,
)

ORGANISATION_FIELD_HELP = (
    "Code of the owning organisation this is for. May be left out when the recommendation has a single owner."
)


class ProgressUpdateCreate(RequestModel):
    organisation_code: OrganisationCode | None = Field(
        default=None, description=ORGANISATION_FIELD_HELP, examples=["MYHT"]
    )
    author: Name = Field(examples=["Named nurse for safeguarding children"])
    narrative: LongText = Field(examples=["Audit of 50 maternity records completed; actions agreed."])
    status: OwnerStatus = Field(description="The owner's status after this update.")
    reported_on: Day | None = Field(
        default=None, description="The date the progress refers to; today when left out, never in the future."
    )


class ProgressUpdatePublic(ResponseModel):
    id: int
    recommendation_id: int
    organisation_id: int
    organisation_code: str
    author: str
    narrative: str
    status: OwnerStatus
    reported_on: date
    created_at: datetime


class EvidenceLinkCreate(RequestModel):
    organisation_code: OrganisationCode | None = Field(
        default=None, description=ORGANISATION_FIELD_HELP, examples=["MYHT"]
    )
    url: HttpUrl = Field(examples=["https://example.org/audits/maternity-records-2018.pdf"])
    title: ShortText = Field(examples=["Maternity records audit, June 2018"])
    description: Note | None = None
    progress_update_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="The progress update that cites this evidence, if any."
    )


class EvidenceLinkPublic(ResponseModel):
    id: int
    recommendation_id: int
    organisation_id: int
    organisation_code: str
    progress_update_id: int | None
    url: str
    title: str
    description: str | None
    created_at: datetime
