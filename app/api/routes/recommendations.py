"""Recommendations: across reports, a report's, one; created by admins."""

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api import answer_scopes
from app.api.conditional import CollectionETag, IfNoneMatch, computed_answer, resource_answer
from app.api.deps import (
    IDEMPOTENT,
    AdminDep,
    AsOfDep,
    ClockDep,
    IdPath,
    ReaderDep,
    ReportDep,
    SessionDep,
    in_worker_thread,
)
from app.api.middleware.answer_cache import kept_answer, shared_answer
from app.api.pagination import PageDep, link_header, page_body
from app.api.responses import (
    CHANGE,
    NEW_ID,
    conditional_read,
    created,
    link,
    problems,
    same,
    with_etag,
)
from app.domain.bounds import as_id
from app.domain.deadlines import Rag
from app.domain.status import Status
from app.schemas.common import Day, Page
from app.schemas.recommendations import RecommendationCreate, RecommendationPublic
from app.services import recommendations as service
from app.services import reports
from app.services.as_of import AsOf
from app.services.recommendation_detail import AS_OF_TODAY, detail_of, recommendation_detail
from app.services.recommendations import RecommendationFilters, SortOrder

router = APIRouter(tags=["recommendations"])

OrganisationFilter = Annotated[
    str | None,
    Query(
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$",
        description="Only recommendations this organisation owns: its id or its code (any case).",
    ),
]


async def recommendation_filters(
    organisation_id: OrganisationFilter = None,
    status: Annotated[
        list[Status] | None, Query(max_length=5, description="Any of these statuses (as of `as_of`).")
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="Only overdue (true) or only not overdue (false) items, as of `as_of`."),
    ] = None,
    rag: Annotated[list[Rag] | None, Query(max_length=5, description="Any of these RAG colours.")] = None,
    due_before: Annotated[
        Day | None, Query(description="Only items whose effective due date is before this.")
    ] = None,
) -> RecommendationFilters:
    return RecommendationFilters(
        organisation=organisation_id,
        statuses=status or [],
        overdue=overdue,
        rags=rag or [],
        due_before=due_before,
    )


FiltersDep = Annotated[RecommendationFilters, Depends(recommendation_filters)]
Sort = Annotated[
    SortOrder,
    Query(
        description="`ref` (report order), `due_date`, `-due_date`, or `days_overdue` (most overdue first)."
    ),
]


async def _page(request, response, session, page, filters, as_of, sort, report_must_exist=False) -> Response:
    def compute() -> dict:
        # Looked up only when the page is not cached: reports are never deleted.
        if report_must_exist:
            reports.get_report(session, filters.report_id)
        items, total = service.list_recommendations(
            session, filters=filters, as_of=as_of, sort=sort, limit=page.limit, offset=page.offset
        )
        return page_body(page, items, total)

    answer = await computed_answer(request, compute, response=response, listed=_listed, session=session)
    response.headers["Link"] = link_header(request, page, answer.total)
    return answer.response(response)


def _listed(page: dict) -> list[int]:
    return [item.id for item in page["items"]]


@router.get(
    "/recommendations", response_model=Page[RecommendationPublic], responses=conditional_read(401, 404, 422)
)
@shared_answer(scopes=answer_scopes.report_in_query)
async def list_recommendations(
    _etag: CollectionETag,
    _: ReaderDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    filters: FiltersDep,
    as_of: AsOfDep,
    report_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    sort: Sort = SortOrder.REF,
):
    filters = replace(filters, report_id=report_id)
    return await _page(request, response, session, page, filters, as_of, sort)


@router.get(
    "/reports/{report_id}/recommendations",
    response_model=Page[RecommendationPublic],
    responses=conditional_read(401, 404, 422),
)
@shared_answer(scopes=answer_scopes.report)
async def list_report_recommendations(
    _etag: CollectionETag,
    request: Request,
    response: Response,
    report_id: IdPath,
    session: SessionDep,
    page: PageDep,
    filters: FiltersDep,
    as_of: AsOfDep,
    sort: Sort = SortOrder.REF,
):
    filters = replace(filters, report_id=report_id)
    return await _page(request, response, session, page, filters, as_of, sort, report_must_exist=True)


@router.post(
    "/reports/{report_id}/recommendations",
    openapi_extra=IDEMPOTENT,
    response_model=RecommendationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        **created(
            {
                "ReadRecommendation": link(
                    "read_recommendation", "The new recommendation.", recommendation_id=NEW_ID
                )
            }
        ),
        **problems(400, 401, 403, 404, 409, 413, 422),
    },
)
def create_recommendation(
    actor: AdminDep,
    report: ReportDep,
    data: RecommendationCreate,
    session: SessionDep,
    clock: ClockDep,
    as_of: AsOfDep,
    request: Request,
    response: Response,
):
    recommendation = service.create_recommendation(
        session, actor=actor, report=report, data=data, now=clock.now()
    )
    response.headers["Location"] = str(
        request.url_for("read_recommendation", recommendation_id=recommendation.id)
    )
    return service.recommendation_view(session, recommendation, as_of=as_of)


async def _detail_as_of_today(
    request: Request, recommendation_id: int, as_of: AsOf, if_none_match: str | None
) -> Response:
    # From the stored statuses: one indexed statement on the event loop (app.db.quick_reads).
    row = await request.app.state.quick_reads.one(AS_OF_TODAY, {"recommendation_id": recommendation_id})
    detail = detail_of(row, recommendation_id, as_of=as_of)
    return resource_answer(detail.body, detail.version, as_of.day, if_none_match)


async def quick_detail(request: Request, path_params: dict[str, str], as_of: AsOf) -> Response | None:
    """``read_recommendation``'s answer as of today to a caller who may read, before routing
    (SharedAnswerMiddleware): None for anything else (a past day, an id that is no id)."""
    recommendation_id = as_id(path_params["recommendation_id"])
    if recommendation_id is None or not as_of.is_current:
        return None
    return await _detail_as_of_today(request, recommendation_id, as_of, request.headers.get("if-none-match"))


@router.get(
    "/recommendations/{recommendation_id}",
    response_model=RecommendationPublic,
    responses=conditional_read(
        401,
        404,
        422,
        links={
            "ChangeTargetDate": with_etag(
                "change_target_date", CHANGE, recommendation_id=same("recommendation_id")
            )
        },
    ),
)
@kept_answer(scopes=answer_scopes.recommendation, quick=quick_detail)
async def read_recommendation(
    _: ReaderDep,
    request: Request,
    recommendation_id: IdPath,
    session: SessionDep,
    as_of: AsOfDep,
    if_none_match: IfNoneMatch = None,
):
    if as_of.is_current:
        return await _detail_as_of_today(request, recommendation_id, as_of, if_none_match)
    # From the history: more work, in a worker thread.
    detail = await in_worker_thread(
        session, lambda: recommendation_detail(session.connection(), recommendation_id, as_of=as_of)
    )
    return resource_answer(detail.body, detail.version, as_of.day, if_none_match)
