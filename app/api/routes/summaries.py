from fastapi import APIRouter, Request, Response

from app.api import answer_scopes
from app.api.conditional import CollectionETag, computed_answer
from app.api.deps import AsOfDep, IdPath, ReaderDep, SessionDep
from app.api.middleware.answer_cache import shared_answer
from app.api.responses import conditional_read
from app.schemas.summaries import PortfolioSummary, ReportSummary
from app.services import reports
from app.services import summaries as service

router = APIRouter(tags=["summaries"])


@router.get(
    "/summary",
    response_model=PortfolioSummary,
    summary="The whole portfolio as of a date",
    responses=conditional_read(401, 422),
)
@shared_answer(scopes=answer_scopes.portfolio_figures)
async def portfolio_summary(
    _etag: CollectionETag,
    _: ReaderDep,
    request: Request,
    response: Response,
    session: SessionDep,
    as_of: AsOfDep,
):
    answer = await computed_answer(request, lambda: service.portfolio_summary(session, as_of=as_of))
    return answer.response(response)


@router.get(
    "/reports/{report_id}/summary",
    response_model=ReportSummary,
    summary="One report as of a date",
    responses=conditional_read(401, 404, 422),
)
@shared_answer(scopes=answer_scopes.report)
async def report_summary(
    _etag: CollectionETag,
    report_id: IdPath,
    request: Request,
    response: Response,
    session: SessionDep,
    as_of: AsOfDep,
):
    # The report is looked up only when the answer is not cached: reports are never deleted,
    # so one that was summarised in this state of the database still exists.
    def compute():
        report = reports.get_report(session, report_id)
        return service.report_summary(session, report=report, as_of=as_of)

    return (await computed_answer(request, compute)).response(response)
