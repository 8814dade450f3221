import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from app.domain.text import MULTI_LINE_TEXT, SINGLE_LINE_TEXT, some_text
from app.domain.urls import UnsafeUrl, public_http_url

T = TypeVar("T")


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _not_nullable_in_schema(schema: dict[str, Any], model: type) -> None:
    """In the JSON schema, the fields a PATCH may leave out but not set to null do not take null."""
    properties = schema.get("properties", {})
    for name in getattr(model, "not_nullable", ()):
        prop = properties.get(name)
        if not prop or "anyOf" not in prop:
            continue
        options = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        if len(options) == 1:
            prop.update(options[0])
        else:
            prop["anyOf"] = options


class PatchModel(RequestModel):
    """A PATCH body: absent fields stay as they are; null clears a nullable field."""

    model_config = ConfigDict(json_schema_extra=_not_nullable_in_schema)

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


# Text that is stored: PostgreSQL text cannot hold NUL, so no string a client sends may.
NO_NUL = r"^[^\x00]*$"
# The http(s) URLs the document promises _http_url accepts: a host name with a dot, ending in a
# letter, not a local one, an optional port, then visible ASCII without markup. (_http_url also
# takes international hosts, public addresses and other characters, which it percent-encodes.)
_NOT_LOCAL = (
    r"(?![^/?#]*\.([Ll][Oo][Cc][Aa][Ll]([Hh][Oo][Ss][Tt]|[Dd][Oo][Mm][Aa][Ii][Nn])?"
    r"|[Ii][Nn][Tt][Ee][Rr][Nn][Aa][Ll]|[Hh][Oo][Mm][Ee]\.[Aa][Rr][Pp][Aa])\.?([:/?#]|$))"
)
_PORT = r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
_HTTP_URL = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    + _NOT_LOCAL
    + r"([A-Za-z0-9-]{1,63}\.)+[A-Za-z][A-Za-z0-9-]{0,62}\.?"
    + _PORT
    + r"([/?#][!#-;=?-_a-~]*)?$"
)


def _http_url(value: str) -> str:
    try:
        return public_http_url(value)
    except UnsafeUrl as exc:
        raise ValueError(exc.reason) from None


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})"
)


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD (or a date): not the numbers pydantic would read as Unix times."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


def _iso_instant(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_INSTANT.fullmatch(value)):
        return value
    raise ValueError("must be an ISO 8601 date and time with a zone, such as 2018-07-02T10:00:00Z")


def _within_supported_years(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def _instant_within_supported_years(value: datetime) -> datetime:
    _within_supported_years(value.date())
    return value


# The dates of the supported years, 1900 to 2199, as the OpenAPI document states them.
_MONTH_DAY = (
    r"(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8])"
)
_LEAP_YEAR = (
    r"19(0[48]|[2468][048]|[13579][26])|20([02468][048]|[13579][26])|21(0[48]|[2468][048]|[13579][26])"
)
DATE_PATTERN = rf"^((19|20|21)[0-9]{{2}}-({_MONTH_DAY})|({_LEAP_YEAR})-02-29)$"

# Every date a client sends: working-day arithmetic needs a bounded calendar.
Day = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_within_supported_years),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
# Every time a client sends: with a zone, and within the supported years.
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_instant),
    AfterValidator(_instant_within_supported_years),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": r"^(19|20|21)[0-9]{2}-"}),
]


def _at_most(max_length: int):
    """The length limit on the string as sent: bodies are trimmed, but the document's maxLength
    is about what the client sends, so padding cannot carry a longer string past it."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return BeforeValidator(check)


def text(max_length: int, *, required: bool = True, multiline: bool = False) -> Any:
    """A string type of at most ``max_length``; ``required``: not empty, not only spaces.

    No control characters (terminal escapes included), except tabs and line breaks in
    ``multiline`` text: they corrupt spreadsheets, documents and terminals that show them.
    """
    allowed = MULTI_LINE_TEXT if multiline else SINGLE_LINE_TEXT
    if required:
        constraints = StringConstraints(min_length=1, max_length=max_length, pattern=some_text(allowed))
    else:
        constraints = StringConstraints(max_length=max_length, pattern=f"^{allowed}*$")
    return Annotated[str, constraints, _at_most(max_length)]


ShortText = text(300)
Name = text(200)
LongText = text(10000, multiline=True)
Note = text(2000, required=False, multiline=True)
HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_http_url),
    _at_most(2000),
    # The pattern's look-ahead is for the document only: _http_url is the check.
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 2000, "pattern": _HTTP_URL}),
]
OrganisationCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$"),
]
RecommendationRef = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=r"^\d+(\.\d+)*[a-z]?$")
]
ParagraphRef = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^\d+(\.\d+)*$")]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
