from datetime import datetime

from pydantic import Field

from app.domain.status import OrganisationKind
from app.schemas.common import (
    OrganisationCode,
    PatchModel,
    RequestModel,
    ResponseModel,
    ShortText,
)


class OrganisationCreate(RequestModel):
    code: OrganisationCode = Field(examples=["MYHT"])
    name: ShortText = Field(examples=["The Mid Yorkshire Hospitals NHS Trust"])
    kind: OrganisationKind = Field(examples=["nhs_trust"])


class OrganisationUpdate(PatchModel):
    not_nullable = frozenset({"code", "name", "kind"})

    code: OrganisationCode | None = None
    name: ShortText | None = None
    kind: OrganisationKind | None = None


class OrganisationPublic(ResponseModel):
    id: int
    code: str
    name: str
    kind: OrganisationKind
    created_at: datetime
    updated_at: datetime
