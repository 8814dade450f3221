from fastapi import APIRouter, Request, Response

from app.api import answer_scopes
from app.api.conditional import CollectionETag, computed_answer, not_modified
from app.api.deps import AsOfDep, IdPath, ReaderDep, SessionDep
from app.api.etags import holds_tag
from app.api.middleware.answer_cache import CACHE_CONTROL, AnswerKey, shared_answer
from app.api.responses import conditional_read
from app.domain.bounds import as_id
from app.schemas.summaries import PortfolioSummary, ReportSummary
from app.services import reports
from app.services import summaries as service
from app.services.as_of import AsOf

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
    kept = request.app.state.portfolio_parts
    answer = await computed_answer(
        request, lambda: service.portfolio_summary(session, as_of=as_of, kept=kept)
    )
    return answer.response(response)


async def quick_report_summary(request: Request, path_params: dict[str, str], as_of: AsOf) -> Response | None:
    """``report_summary``'s answer as of today to a caller who may read, before routing
    (SharedAnswerMiddleware), from one statement on the event loop (app.db.quick_reads): None
    for anything else (a past day, an id that is no id)."""
    report_id = as_id(path_params["report_id"])
    if report_id is None or not as_of.is_current:
        return None
    key: AnswerKey = request.state.answer_key  # the versions, read before the statement
    if holds_tag(request.headers.get("if-none-match"), key.etag):
        return not_modified(key.etag)
    row = await request.app.state.quick_reads.one(service.REPORT_AS_OF_TODAY, {"report_id": report_id})
    summary = service.report_summary_as_of_today(row, report_id, as_of=as_of)
    return Response(
        summary.__pydantic_serializer__.to_json(summary, by_alias=True),
        media_type="application/json",
        headers={"ETag": key.etag, "Cache-Control": CACHE_CONTROL},
    )


@router.get(
    "/reports/{report_id}/summary",
    response_model=ReportSummary,
    summary="One report as of a date",
    responses=conditional_read(401, 404, 422),
)
@shared_answer(scopes=answer_scopes.report_summary, quick=quick_report_summary)
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
        if as_of.is_current:
            return service.report_summary_of(session, report_id, as_of=as_of)
        report = reports.get_report(session, report_id)
        return service.report_summary(session, report=report, as_of=as_of)

    return (await computed_answer(request, compute)).response(response)
