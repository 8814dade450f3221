"""Spreadsheet downloads of a report's action plan, as of any date."""

from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import AsOfDep, ReportDep, SessionDep, SettingsDep
from app.api.responses import problems
from app.services import exports as service

router = APIRouter(tags=["exports"])


class CSVResponse(Response):
    media_type = "text/csv"  # Starlette adds "; charset=utf-8"


class XLSXResponse(Response):
    media_type = service.XLSX_MEDIA_TYPE


_DESCRIPTION = """
One row per recommendation **and owner** (a jointly owned recommendation gives
one row per owner), in report order, with the figures the API gives for the
same `as_of`: Reference, Recommendation, Owner, Owner name, Owner status,
Recommendation status, Target date, Effective due date, Days overdue, Working
days overdue, RAG, Last update (the owner's latest progress `reported_on` on or
before `as_of`) and Evidence links (the owner's links created by the end of
`as_of`, local time).

Text that a spreadsheet would take for a formula (starting `=`, `+`, `-`, `@`,
tab or carriage return) is prefixed with a single quote.
"""


def _download(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="<slug>-action-plan-<as_of>.<extension>"',
                    "schema": {"type": "string"},
                }
            },
        },
        **problems(401, 404, 422),
    }


@router.get(
    "/reports/{report_id}/action-plan.csv",
    response_class=CSVResponse,
    summary="The action plan as CSV (UTF-8 with BOM, CRLF), as of a date",
    description=_DESCRIPTION,
    responses=_download(CSVResponse.media_type, "The action plan, one row per recommendation and owner."),
)
def action_plan_csv(report: ReportDep, session: SessionDep, as_of: AsOfDep, settings: SettingsDep):
    rows = service.action_plan(session, report=report, as_of=as_of, timezone=settings.timezone)
    return CSVResponse(
        content=service.render_csv(rows),
        headers={"Content-Disposition": service.content_disposition(service.filename(report, as_of, "csv"))},
    )


@router.get(
    "/reports/{report_id}/action-plan.xlsx",
    response_class=XLSXResponse,
    summary="The action plan as an Excel workbook, as of a date",
    description=_DESCRIPTION,
    responses=_download(service.XLSX_MEDIA_TYPE, "An Excel workbook: the action plan, then what it is of."),
)
def action_plan_xlsx(report: ReportDep, session: SessionDep, as_of: AsOfDep, settings: SettingsDep):
    rows = service.action_plan(session, report=report, as_of=as_of, timezone=settings.timezone)
    return XLSXResponse(
        content=service.render_xlsx(report, as_of, rows),
        headers={"Content-Disposition": service.content_disposition(service.filename(report, as_of, "xlsx"))},
    )
