"""POST /reports/import: a report (PDF, Word file or text) in, its report and recommendations out."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.deps import AdminDep, ClockDep, SessionDep, SettingsDep
from app.api.problems import PROBLEM_MEDIA_TYPE, Problem
from app.api.responses import problems
from app.errors import AppError, InvalidInput
from app.importer.docx_text import DOCX_MEDIA_TYPE, is_docx
from app.importer.pdf_text import is_pdf
from app.schemas.common import Day, Name, Slug
from app.schemas.imports import ImportResult
from app.services import documents, importer
from app.services.documents import ReportSource

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
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            DOCX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The published PDF, a Word document (.docx), or UTF-8 plain text.",
                        }
                    },
                }
            },
        },
    }
}

_DESCRIPTION = """\
Send the report's published PDF (`application/pdf`), a Word document
(`application/vnd.openxmlformats-officedocument.wordprocessingml.document`, .docx) or its text
(`text/plain; charset=utf-8`), as the body or as a multipart upload (field `file`). A PDF is known
by its content ("%PDF-"), and a Word document by its ("PK" and `word/document.xml`), whatever the
declared type. A PDF's text is extracted, running headers and footers, page numbers, footnotes,
hyphenation and ligatures are taken out, and the preview gives the page of each recommendation,
citation and warning (`page`). A Word document's paragraphs and table cells are read in order,
each list paragraph with the number Word shows for it ("1.", "1.1"), so automatic numbering
reads as printed.

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
  recommendation refs or invalid data (422). Text that is not a report, or longer than the parser
  reads (2,000,000 characters): 422 with the line.
- A PDF that cannot be read: 422 with `code` `not_a_pdf`, `broken_pdf`, `encrypted_pdf` (needs a
  password), `pdf_no_text` (a scan: run OCR first), `pdf_too_many_pages` or `pdf_too_complex` (its
  reading took too long or too much memory); 413 over the size limit. A Word document that
  cannot be read: 422 with `code` `not_a_docx`, `broken_docx` or `docx_too_complex`. 503
  `document_reading_busy` (with Retry-After) when other documents are being read.
"""


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class TextTooLarge(AppError):
    status, code, title = 413, "body_too_large", "Content too large"


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


async def report_source(request: Request, settings: SettingsDep) -> ReportSource:
    """The report from the body (PDF or plain UTF-8 text) or the multipart field ``file``; a PDF's text
    is extracted off the event loop."""
    media_type, parameters = _media_type(request)
    declared = {"application/pdf": "pdf", DOCX_MEDIA_TYPE: "docx"}.get(media_type, "text")
    if declared != "text":
        data = await request.body()
    elif media_type == "text/plain":
        if parameters.get("charset", "utf-8") not in ("utf-8", "utf8", "us-ascii"):
            raise UnsupportedMediaType(f"Send the text as UTF-8, not {parameters['charset']}.")
        data = await request.body()
    elif media_type == "multipart/form-data":
        data = await _uploaded(request)
    else:
        raise UnsupportedMediaType(
            "Send the report as 'application/pdf', as a Word document ('"
            + DOCX_MEDIA_TYPE
            + "'), as 'text/plain; charset=utf-8' or as a multipart/form-data upload in the field "
            f"'file', not {media_type or 'no Content-Type'}."
        )
    if declared == "text" and not (is_pdf(data) or is_docx(data)) and len(data) > settings.max_body_bytes:
        raise TextTooLarge(f"The text is larger than {settings.max_body_bytes} bytes.")
    return await run_in_threadpool(
        documents.read_report_source, data, limits=documents.read_limits(settings), declared=declared
    )


def _refusals() -> dict[int | str, dict[str, Any]]:
    declared = problems(400, 401, 403, 409, 413, 422, 503)
    declared[400]["description"] = "A multipart body that cannot be read, or with more than 5 fields"
    declared[409]["description"] = (
        "Refused: an ambiguous organisation name, or changes that would lose history"
    )
    declared[422]["description"] = (
        "Not a report, not UTF-8, a PDF or Word document that cannot be read, repeated refs or invalid "
        "data (with the line)"
    )
    declared[503]["description"] = "Other documents are being read; try again later (Retry-After)"
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
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "example": {
                    "title": "Unsupported media type",
                    "status": 415,
                    "code": "unsupported_media_type",
                }
            }
        },
    },
}


@router.post(
    "/import",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    summary="Import a report from its published PDF, Word file or text (admin)",
    description=_DESCRIPTION,
    responses=_RESPONSES,
    openapi_extra=_REQUEST_BODY,
)
def import_report(
    actor: AdminDep,
    source: Annotated[ReportSource, Depends(report_source)],
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
    result = documents.import_source(
        session,
        source=source,
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
