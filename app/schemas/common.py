from datetime import date
from typing import Annotated, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

T = TypeVar("T")


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchModel(RequestModel):
    """A PATCH body: absent fields stay as they are; null clears a nullable field."""

    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null_for_required_fields(self) -> "PatchModel":
        nulls = sorted(
            f for f in self.model_fields_set if f in self.not_nullable and getattr(self, f) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(ResponseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http or https URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")
    return value


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def _within_supported_years(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


# Every date a client sends: working-day arithmetic needs a bounded calendar.
Day = Annotated[date, AfterValidator(_within_supported_years)]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10000)]
HttpUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_http_url)]
OrganisationCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$"),
]
RecommendationRef = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=r"^\d+(\.\d+)*[a-z]?$")
]
ParagraphRef = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^\d+(\.\d+)*$")]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
