from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.domain.status import OrganisationKind
from app.schemas.common import (
    OrganisationCode,
    PatchModel,
    RequestModel,
    ResponseModel,
    ShortText,
)

# A plain shape check: delivery is the mail server's to judge.
ContactEmail = Annotated[
    str,
    StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    Field(examples=["safeguarding@example.nhs.uk"]),
]


class OrganisationCreate(RequestModel):
    code: OrganisationCode = Field(examples=["MYHT"])
    name: ShortText = Field(examples=["The Mid Yorkshire Hospitals NHS Trust"])
    kind: OrganisationKind = Field(examples=["nhs_trust"])
    contact_email: ContactEmail | None = Field(default=None, description="Where reminders are emailed.")


class OrganisationUpdate(PatchModel):
    not_nullable = frozenset({"code", "name", "kind"})

    code: OrganisationCode | None = None
    name: ShortText | None = None
    kind: OrganisationKind | None = None
    contact_email: ContactEmail | None = None


class OrganisationPublic(ResponseModel):
    id: int
    code: str
    name: str
    kind: OrganisationKind
    contact_email: str | None = None
    created_at: datetime
    updated_at: datetime
