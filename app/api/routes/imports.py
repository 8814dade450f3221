"""POST /reports/import: a report's published text in, its report and recommendations out."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import AdminDep, ClockDep, SessionDep
from app.api.problems import PROBLEM_MEDIA_TYPE, Problem
from app.api.responses import problems
from app.errors import AppError, InvalidInput
from app.schemas.common import Day, Name, Slug
from app.schemas.imports import ImportResult
from app.services import importer

router = APIRouter(prefix="/reports", tags=["reports"])

_FORMAT = """\
The text of a report in the CQC review format, as copied out of the PDF or web page:
the title on the first line; "Key: value" fields ("Date of review", "Date of publication",
"Provider services included"); numbered paragraphs citing recommendations
("... [Recommendation 4.8](#)"); a "Recommendations" heading followed by owner groups
"N. <organisations> should:" with items "N.M <text>"; and the clause "An action plan ...
is required from A and B, within 20 working days of receipt of this report".
"""

_EXAMPLE = """\
Review of health services for Children Looked-after and Safeguarding in Testshire

Date of review: 4 March 2019 to 8 March 2019
Date of publication: 17 May 2019

1. Early help

1.1 Records in the maternity service are not always legible. [Recommendation 1.1](#)

Recommendations

1. The Gamma Hospitals NHS Trust should:

1.1 Ensure that records in the maternity service are legible.

Next steps

An action plan addressing the recommendations above is required from NHS Delta CCG, \
within 20 working days of receipt of this report.
"""

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": _FORMAT,
        "content": {
            "text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "UTF-8 plain text."}
                    },
                }
            },
        },
    }
}

_DESCRIPTION = """\
Send the report's text as `text/plain; charset=utf-8` or as a multipart upload (field `file`).

- `dry_run=true`: the full preview (report fields, recommendations with their owners and how each
  name resolves, citations, sections), the warnings and what a real import would do; nothing is
  written.
- A new slug: organisations, report and recommendations are created in one transaction (201).
- The same slug again: `unchanged` when nothing differs (200). When recommendations differ, the
  differences are listed and nothing is written (`changes_detected`, 200) unless
  `apply_changes=true` (`changes_applied`, 201). Recommendations or owners with recorded history
  are never removed: such an import is refused (409). The report's own fields are never changed
  here (see `report_differences`; PATCH the report).
- Refused, nothing written: an ambiguous organisation name (409, with the candidates), repeated
  recommendation refs or invalid data (422). Text that is not a report, or too complex to read
  quickly (an organisation list over 40 long, over 5000 numbered lines): 422 with the line.
"""


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


def _media_type(request: Request) -> tuple[str, dict[str, str]]:
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    pairs = (p.partition("=") for p in parameters)
    return media_type.strip().lower(), {k.strip().lower(): v.strip().strip('"').lower() for k, _, v in pairs}


async def _uploaded(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if upload is None:
            raise InvalidInput("Send the report's text as a file in the form field 'file'.", code="no_file")
        return upload.encode("utf-8") if isinstance(upload, str) else await upload.read()


async def report_text(request: Request) -> str:
    """The body as text: plain UTF-8 text, or the multipart field ``file``."""
    media_type, parameters = _media_type(request)
    if media_type == "text/plain":
        if parameters.get("charset", "utf-8") not in ("utf-8", "utf8", "us-ascii"):
            raise UnsupportedMediaType(f"Send the text as UTF-8, not {parameters['charset']}.")
        data = await request.body()
    elif media_type == "multipart/form-data":
        data = await _uploaded(request)
    else:
        raise UnsupportedMediaType(
            "Send the report as 'text/plain; charset=utf-8' or as a multipart/form-data upload "
            f"in the field 'file', not {media_type or 'no Content-Type'}."
        )
    return importer.decode_text(data)


def _refusals() -> dict[int | str, dict[str, Any]]:
    declared = problems(400, 401, 403, 409, 413, 422)
    declared[400]["description"] = "A multipart body that cannot be read, or with more than 5 fields"
    declared[409]["description"] = (
        "Refused: an ambiguous organisation name, or changes that would lose history"
    )
    declared[422]["description"] = "Not a report, not UTF-8, repeated refs or invalid data (with the line)"
    return declared


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ImportResult,
        "description": "A dry run, or nothing written (unchanged, changes_detected).",
    },
    201: {"description": "Written: the report created, or its changes applied."},
    **_refusals(),
    415: {
        "model": Problem,
        "description": "Unsupported media type",
        "content": {PROBLEM_MEDIA_TYPE: {"example": {"title": "Unsupported media type", "status": 415}}},
    },
}


@router.post(
    "/import",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    summary="Import a report from its published text (admin)",
    description=_DESCRIPTION,
    responses=_RESPONSES,
    openapi_extra=_REQUEST_BODY,
)
def import_report(
    actor: AdminDep,
    text: Annotated[str, Depends(report_text)],
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    dry_run: Annotated[bool, Query(description="Preview only; write nothing.")] = False,
    apply_changes: Annotated[
        bool, Query(description="Apply the differences from the stored report with the same slug.")
    ] = False,
    slug: Annotated[Slug | None, Query(description="Instead of <area>-<tag>-<year>.")] = None,
    received_date: Annotated[Day | None, Query(description="Defaults to the date of publication.")] = None,
    regulator: Annotated[Name | None, Query(description="Defaults to Care Quality Commission.")] = None,
) -> ImportResult:
    result = importer.import_text(
        session,
        text=text,
        actor=actor,
        options=importer.ImportOptions(slug=slug, received_date=received_date, regulator=regulator),
        now=clock.now(),
        dry_run=dry_run,
        apply_changes=apply_changes,
    )
    response.status_code = status.HTTP_201_CREATED if result.written else status.HTTP_200_OK
    if result.outcome == "created" and result.written:
        response.headers["Location"] = str(request.url_for("read_report", report_id=result.report_id))
    return result


# Without this, GET /reports/import would reach GET /reports/{report_id} and fail on "import" as an id.
@router.api_route("/import", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def import_report_other_methods() -> None:
    raise StarletteHTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, headers={"Allow": "POST"})
