from fastapi import APIRouter

from app.api.conditional import CollectionETag
from app.api.deps import AsOfDep, ReaderDep, ReportDep, SessionDep
from app.api.responses import problems
from app.schemas.summaries import PortfolioSummary, ReportSummary
from app.services import summaries as service

router = APIRouter(tags=["summaries"])


@router.get(
    "/summary",
    response_model=PortfolioSummary,
    summary="The whole portfolio as of a date",
    responses=problems(401, 422),
)
def portfolio_summary(_etag: CollectionETag, _: ReaderDep, session: SessionDep, as_of: AsOfDep):
    return service.portfolio_summary(session, as_of=as_of)


@router.get(
    "/reports/{report_id}/summary",
    response_model=ReportSummary,
    summary="One report as of a date",
    responses=problems(401, 404, 422),
)
def report_summary(_etag: CollectionETag, report: ReportDep, session: SessionDep, as_of: AsOfDep):
    return service.report_summary(session, report=report, as_of=as_of)
