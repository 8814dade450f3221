from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.deps import ClockDep, ReportDep, SessionDep
from app.api.pagination import PageDep, paged
from app.api.responses import problems
from app.schemas.common import Page
from app.schemas.reports import ReportCreate, ReportPublic, ReportUpdate
from app.services import reports as service

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("", response_model=Page[ReportPublic], responses=problems(422))
def list_reports(
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    slug: Annotated[str | None, Query(max_length=100, description="Only the report with this slug.")] = None,
) -> dict:
    items, total = service.list_reports(session, slug=slug, limit=page.limit, offset=page.offset)
    return paged(request, response, page, service.report_views(session, items), total)


@router.post(
    "", response_model=ReportPublic, status_code=status.HTTP_201_CREATED, responses=problems(409, 422)
)
def create_report(
    data: ReportCreate, session: SessionDep, clock: ClockDep, request: Request, response: Response
):
    report = service.create_report(session, data=data, now=clock.now())
    response.headers["Location"] = str(request.url_for("read_report", report_id=report.id))
    return service.report_view(session, report)


@router.get("/{report_id}", response_model=ReportPublic, responses=problems(404, 422))
def read_report(report: ReportDep, session: SessionDep):
    return service.report_view(session, report)


@router.patch("/{report_id}", response_model=ReportPublic, responses=problems(404, 409, 422))
def update_report(report: ReportDep, data: ReportUpdate, session: SessionDep, clock: ClockDep):
    report = service.update_report(session, report=report, data=data, now=clock.now())
    return service.report_view(session, report)
