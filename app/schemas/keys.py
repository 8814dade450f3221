from datetime import datetime

from pydantic import Field

from app.domain.status import Role
from app.schemas.common import OrganisationCode, RequestModel, ResponseModel, text

KeyName = text(100)  # the column is 100 long


class ApiKeyCreate(RequestModel):
    name: KeyName = Field(examples=["CHFT safeguarding team"], description="Who or what uses the key.")
    role: Role
    organisation_code: OrganisationCode | None = Field(
        default=None,
        description="Required for editor keys (the organisation they write for); not allowed otherwise.",
    )


class ApiKeyPublic(ResponseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's public start, to recognise it; not a secret.")
    role: Role
    organisation_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. It is shown this once and cannot be recovered.")


class AuditEventPublic(ResponseModel):
    id: int
    occurred_at: datetime
    api_key_id: int | None
    role: str
    organisation_id: int | None
    action: str
    entity: str
    entity_id: int | None
    before: dict | None
    after: dict | None
    request_id: str | None


class Change(ResponseModel):
    cursor: int = Field(description="Pass as `after` to get the changes after this one.")
    entity: str
    entity_id: int | None
    action: str
    occurred_at: datetime


class ChangePage(ResponseModel):
    items: list[Change]
    next_cursor: int = Field(description="The cursor to ask from next time; unchanged when nothing is new.")
    has_more: bool
