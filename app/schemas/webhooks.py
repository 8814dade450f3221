from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from app.domain.webhook_events import EVENT_TYPES
from app.schemas.common import PatchModel, RequestModel, ResponseModel

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2000, examples=["https://example.org/hooks/rectrack"])
]
Description = Annotated[str, Field(max_length=500)]


def _distinct(types: list[str] | None) -> list[str] | None:
    return None if types is None else sorted(set(types))


class WebhookEndpointCreate(RequestModel):
    url: WebhookUrl
    description: Description = ""
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, description="The event types to send; every type when left out."
    )
    report_id: int | None = Field(default=None, ge=1, description="Only events about this report.")
    organisation_id: int | None = Field(
        default=None, ge=1, description="Only events about this organisation (or what it owns)."
    )

    _distinct_types = field_validator("event_types")(_distinct)


class WebhookEndpointUpdate(PatchModel):
    not_nullable = frozenset({"url", "description", "disabled"})

    url: WebhookUrl | None = None
    description: Description | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    report_id: int | None = Field(default=None, ge=1)
    organisation_id: int | None = Field(default=None, ge=1)
    disabled: bool | None = Field(default=None, description="false re-enables a disabled endpoint.")

    _distinct_types = field_validator("event_types")(_distinct)


class WebhookEndpointPublic(ResponseModel):
    id: int
    url: str
    description: str
    event_types: list[str] | None
    report_id: int | None
    organisation_id: int | None
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    secret: str = Field(description="The signing secret, shown this once: keep it.")


class WebhookAttemptPublic(ResponseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryPublic(ResponseModel):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every attempt.")
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[WebhookAttemptPublic]
