from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.conditional import CollectionETag, IfMatch, ReportETag
from app.api.deps import IDEMPOTENT, AdminDep, AsOfDep, AssurerDep, ClockDep, ReaderDep, ReportDep, SessionDep
from app.api.etags import resource_etag
from app.api.middleware.answer_cache import shared_answer
from app.api.pagination import PageDep, paged
from app.api.responses import (
    AGAIN,
    CHANGE,
    IF_MATCH,
    NEW_ID,
    conditional_read,
    conditional_update,
    created,
    link,
    problems,
    same,
    with_etag,
)
from app.schemas.common import NO_NUL, Page
from app.schemas.reports import DeadlineExplanation, ReportCreate, ReportPublic, ReportUpdate
from app.services import reports as service

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("", response_model=Page[ReportPublic], responses=conditional_read(401, 422))
@shared_answer
def list_reports(
    _etag: CollectionETag,
    _: ReaderDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    as_of: AsOfDep,
    slug: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="Only the report with this slug.")
    ] = None,
) -> dict:
    items, total = service.list_reports(session, slug=slug, limit=page.limit, offset=page.offset)
    return paged(request, response, page, service.report_views(session, items, as_of), total)


@router.post(
    "",
    openapi_extra=IDEMPOTENT,
    response_model=ReportPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        **created(
            {
                "ReadReport": link("read_report", "The new report.", report_id=NEW_ID),
                "CreateRecommendation": link(
                    "create_recommendation", "Add a recommendation to it.", report_id=NEW_ID
                ),
            }
        ),
        **problems(400, 401, 403, 409, 413, 422),
    },
)
def create_report(
    actor: AdminDep,
    data: ReportCreate,
    session: SessionDep,
    clock: ClockDep,
    as_of: AsOfDep,
    request: Request,
    response: Response,
):
    report = service.create_report(session, actor=actor, data=data, now=clock.now())
    response.headers["Location"] = str(request.url_for("read_report", report_id=report.id))
    return service.report_view(session, report, as_of)


@router.get(
    "/{report_id}",
    response_model=ReportPublic,
    responses=conditional_read(
        401, 404, 422, links={"UpdateReport": with_etag("update_report", CHANGE, report_id=same("report_id"))}
    ),
)
def read_report(_etag: ReportETag, report: ReportDep, session: SessionDep, as_of: AsOfDep):
    return service.report_view(session, report, as_of)


@router.patch(
    "/{report_id}",
    response_model=ReportPublic,
    responses=conditional_update(
        401,
        403,
        404,
        409,
        422,
        links={"UpdateReport": with_etag("update_report", AGAIN, report_id=same("report_id"))},
    ),
    openapi_extra=IF_MATCH,
)
def update_report(
    actor: AssurerDep,
    report: ReportDep,
    data: ReportUpdate,
    session: SessionDep,
    expected_version: IfMatch,
    clock: ClockDep,
    as_of: AsOfDep,
    response: Response,
):
    """Admins and assurers (who record, for instance, the date the action plan was submitted)."""
    report = service.update_report(
        session,
        actor=actor,
        report=report,
        data=data,
        expected_version=expected_version.version(),
        now=clock.now(),
    )
    response.headers["ETag"] = resource_etag(report.version, as_of.day)
    return service.report_view(session, report, as_of)


@router.get(
    "/{report_id}/deadline",
    response_model=DeadlineExplanation,
    summary="How the action-plan due date is counted, and the plan's state as of a date",
    responses=conditional_read(401, 404, 422),
)
def explain_deadline(_etag: ReportETag, report: ReportDep, as_of: AsOfDep):
    return service.explain_deadline(report, as_of)
