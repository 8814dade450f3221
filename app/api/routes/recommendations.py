from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api.conditional import CollectionETag, IfMatch, RecommendationETag, computed_answer, resource_etag
from app.api.deps import (
    IDEMPOTENT,
    AdminDep,
    AsOfDep,
    AssurerDep,
    ClockDep,
    IdPath,
    OwnerWriterDep,
    ReaderDep,
    RecommendationDep,
    ReportDep,
    SessionDep,
    in_worker_thread,
)
from app.api.middleware.answer_cache import shared_answer
from app.api.pagination import PageDep, link_header, page_body, paged
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
from app.domain.deadlines import Rag
from app.domain.status import Status
from app.schemas.assurance import DecisionCreate, DecisionPublic, TargetDateChange, TargetDateRevisionPublic
from app.schemas.common import Day, Page
from app.schemas.progress import (
    EvidenceLinkCreate,
    EvidenceLinkPublic,
    ProgressUpdateCreate,
    ProgressUpdatePublic,
)
from app.schemas.recommendations import RecommendationCreate, RecommendationPublic
from app.services import assurance, progress, reports, target_dates
from app.services import recommendations as service
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

    answer = await computed_answer(request, compute)
    response.headers["Link"] = link_header(request, page, answer.total)
    return answer.response(response)


@router.get(
    "/recommendations", response_model=Page[RecommendationPublic], responses=conditional_read(401, 404, 422)
)
@shared_answer
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
@shared_answer
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
async def read_recommendation(
    _etag: RecommendationETag, recommendation: RecommendationDep, session: SessionDep, as_of: AsOfDep
):
    return await in_worker_thread(session, service.recommendation_view, session, recommendation, as_of=as_of)


@router.post(
    "/recommendations/{recommendation_id}/progress-updates",
    openapi_extra=IDEMPOTENT,
    response_model=ProgressUpdatePublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
async def post_progress_update(
    actor: OwnerWriterDep,
    recommendation_id: IdPath,
    data: ProgressUpdateCreate,
    session: SessionDep,
    clock: ClockDep,
):
    """An owner's progress. Editors report for their own organisation; admins and assurers name the owner."""
    # No RecommendationDep: its lookup would run in a worker thread of its own and, on SQLite,
    # take the write lock there and hold it while the request went back to the event loop.
    # record_progress reads the recommendation (404 if there is none) in the write's own call.
    return await in_worker_thread(
        session,
        progress.record_progress,
        session,
        actor=actor,
        recommendation_id=recommendation_id,
        data=data,
        today=clock.today(),
        now=clock.now(),
    )


@router.get(
    "/recommendations/{recommendation_id}/progress-updates",
    response_model=Page[ProgressUpdatePublic],
    responses=conditional_read(401, 404, 422),
)
@shared_answer
def list_progress_updates(
    _etag: CollectionETag,
    request: Request,
    response: Response,
    recommendation: RecommendationDep,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = progress.list_progress_updates(
        session, recommendation=recommendation, limit=page.limit, offset=page.offset
    )
    return paged(request, response, page, items, total)


@router.post(
    "/recommendations/{recommendation_id}/evidence-links",
    openapi_extra=IDEMPOTENT,
    response_model=EvidenceLinkPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def post_evidence_link(
    actor: OwnerWriterDep,
    recommendation: RecommendationDep,
    data: EvidenceLinkCreate,
    session: SessionDep,
    clock: ClockDep,
):
    return progress.add_evidence(
        session, actor=actor, recommendation=recommendation, data=data, now=clock.now()
    )


@router.get(
    "/recommendations/{recommendation_id}/evidence-links",
    response_model=Page[EvidenceLinkPublic],
    responses=conditional_read(401, 404, 422),
)
@shared_answer
def list_evidence_links(
    _etag: CollectionETag,
    request: Request,
    response: Response,
    recommendation: RecommendationDep,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = progress.list_evidence(
        session, recommendation=recommendation, limit=page.limit, offset=page.offset
    )
    return paged(request, response, page, items, total)


@router.patch(
    "/recommendations/{recommendation_id}",
    response_model=RecommendationPublic,
    summary="Set or change the target date (owners; a reason once the action plan is submitted)",
    responses=conditional_update(
        401,
        403,
        404,
        422,
        links={
            "ChangeTargetDate": with_etag(
                "change_target_date", AGAIN, recommendation_id=same("recommendation_id")
            )
        },
    ),
    openapi_extra=IF_MATCH,
)
def change_target_date(
    actor: OwnerWriterDep,
    recommendation: RecommendationDep,
    data: TargetDateChange,
    expected_version: IfMatch,
    session: SessionDep,
    clock: ClockDep,
    as_of: AsOfDep,
    response: Response,
):
    recommendation = target_dates.change_target_date(
        session,
        actor=actor,
        recommendation=recommendation,
        data=data,
        expected_version=expected_version.version(),
        today=clock.today(),
        now=clock.now(),
    )
    response.headers["ETag"] = resource_etag(recommendation.version, as_of.day)
    return service.recommendation_view(session, recommendation, as_of=as_of)


@router.get(
    "/recommendations/{recommendation_id}/target-date-revisions",
    response_model=Page[TargetDateRevisionPublic],
    responses=conditional_read(401, 404, 422),
)
@shared_answer
def list_target_date_revisions(
    _etag: CollectionETag,
    request: Request,
    response: Response,
    recommendation: RecommendationDep,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = target_dates.list_revisions(
        session, recommendation=recommendation, limit=page.limit, offset=page.offset
    )
    return paged(request, response, page, items, total)


@router.post(
    "/recommendations/{recommendation_id}/decisions",
    openapi_extra=IDEMPOTENT,
    response_model=DecisionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Verify, close without implementation, or reopen (assurers and admins)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
def decide(
    actor: AssurerDep,
    recommendation: RecommendationDep,
    data: DecisionCreate,
    session: SessionDep,
    clock: ClockDep,
):
    return assurance.decide(
        session, actor=actor, recommendation=recommendation, data=data, today=clock.today(), now=clock.now()
    )


@router.get(
    "/recommendations/{recommendation_id}/decisions",
    response_model=Page[DecisionPublic],
    responses=conditional_read(401, 404, 422),
)
@shared_answer
def list_decisions(
    _etag: CollectionETag,
    request: Request,
    response: Response,
    recommendation: RecommendationDep,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = assurance.list_decisions(
        session, recommendation=recommendation, limit=page.limit, offset=page.offset
    )
    return paged(request, response, page, items, total)
