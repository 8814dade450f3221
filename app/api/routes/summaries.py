from fastapi import APIRouter, Request

from app.api.conditional import CollectionETag
from app.api.deps import AsOfDep, ReaderDep, ReportDep, SessionDep
from app.api.responses import conditional_read
from app.schemas.summaries import PortfolioSummary, ReportSummary
from app.services import summaries as service

router = APIRouter(tags=["summaries"])


@router.get(
    "/summary",
    response_model=PortfolioSummary,
    summary="The whole portfolio as of a date",
    responses=conditional_read(401, 422),
)
def portfolio_summary(
    _etag: CollectionETag, _: ReaderDep, request: Request, session: SessionDep, as_of: AsOfDep
):
    return _cached(request, lambda: service.portfolio_summary(session, as_of=as_of))


@router.get(
    "/reports/{report_id}/summary",
    response_model=ReportSummary,
    summary="One report as of a date",
    responses=conditional_read(401, 404, 422),
)
def report_summary(
    _etag: CollectionETag, report: ReportDep, request: Request, session: SessionDep, as_of: AsOfDep
):
    return _cached(request, lambda: service.report_summary(session, report=report, as_of=as_of))


def _cached(request: Request, compute):
    """Dashboards poll: an answer is computed once per state of the database."""
    return request.app.state.answer_cache.get_or_compute(request.state.cache_key, compute)
