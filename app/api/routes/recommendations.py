from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.deps import ClockDep, RecommendationDep, ReportDep, SessionDep, SettingsDep, TodayDep
from app.api.pagination import PageDep, paged
from app.api.responses import problems
from app.domain.status import Status
from app.schemas.common import Page
from app.schemas.progress import (
    EvidenceLinkCreate,
    EvidenceLinkPublic,
    ProgressUpdateCreate,
    ProgressUpdatePublic,
)
from app.schemas.recommendations import RecommendationCreate, RecommendationPublic
from app.services import progress
from app.services import recommendations as service
from app.services.recommendations import RecommendationFilters

router = APIRouter(tags=["recommendations"])

OrganisationFilter = Annotated[
    str | None,
    Query(
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.&-]*$",
        description="Only recommendations this organisation owns: its id or its code (any case).",
    ),
]
StatusFilter = Annotated[list[Status] | None, Query(max_length=5, description="Any of these statuses.")]
AsOf = Annotated[
    date | None, Query(description="The date to answer for; today (Europe/London) when left out.")
]


def _list(request, response, session, settings, page, filters: RecommendationFilters, as_of: date) -> dict:
    items, total = service.list_recommendations(
        session, filters=filters, limit=page.limit, offset=page.offset
    )
    views = service.recommendation_views(
        session, items, as_of=as_of, due_soon_working_days=settings.due_soon_working_days
    )
    return paged(request, response, page, views, total)


@router.get("/recommendations", response_model=Page[RecommendationPublic], responses=problems(404, 422))
def list_recommendations(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    page: PageDep,
    report_id: Annotated[int | None, Query(ge=1)] = None,
    organisation_id: OrganisationFilter = None,
    status: StatusFilter = None,
    as_of: AsOf = None,
) -> dict:
    filters = RecommendationFilters(report_id=report_id, organisation=organisation_id, statuses=status or [])
    return _list(request, response, session, settings, page, filters, as_of or today)


@router.get(
    "/reports/{report_id}/recommendations",
    response_model=Page[RecommendationPublic],
    responses=problems(404, 422),
)
def list_report_recommendations(
    request: Request,
    response: Response,
    report: ReportDep,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    page: PageDep,
    organisation_id: OrganisationFilter = None,
    status: StatusFilter = None,
    as_of: AsOf = None,
) -> dict:
    filters = RecommendationFilters(report_id=report.id, organisation=organisation_id, statuses=status or [])
    return _list(request, response, session, settings, page, filters, as_of or today)


@router.post(
    "/reports/{report_id}/recommendations",
    response_model=RecommendationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422),
)
def create_recommendation(
    report: ReportDep,
    data: RecommendationCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    request: Request,
    response: Response,
):
    recommendation = service.create_recommendation(session, report=report, data=data, now=clock.now())
    response.headers["Location"] = str(
        request.url_for("read_recommendation", recommendation_id=recommendation.id)
    )
    return _view(session, settings, recommendation, clock.today())


def _view(session, settings, recommendation, as_of: date) -> RecommendationPublic:
    return service.recommendation_views(
        session, [recommendation], as_of=as_of, due_soon_working_days=settings.due_soon_working_days
    )[0]


@router.get(
    "/recommendations/{recommendation_id}",
    response_model=RecommendationPublic,
    responses=problems(404, 422),
)
def read_recommendation(
    recommendation: RecommendationDep,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    as_of: AsOf = None,
):
    return _view(session, settings, recommendation, as_of or today)


@router.post(
    "/recommendations/{recommendation_id}/progress-updates",
    response_model=ProgressUpdatePublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422),
)
def post_progress_update(
    recommendation: RecommendationDep, data: ProgressUpdateCreate, session: SessionDep, clock: ClockDep
):
    return progress.record_progress(
        session, recommendation=recommendation, data=data, today=clock.today(), now=clock.now()
    )


@router.get(
    "/recommendations/{recommendation_id}/progress-updates",
    response_model=Page[ProgressUpdatePublic],
    responses=problems(404, 422),
)
def list_progress_updates(
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
    response_model=EvidenceLinkPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422),
)
def post_evidence_link(
    recommendation: RecommendationDep, data: EvidenceLinkCreate, session: SessionDep, clock: ClockDep
):
    return progress.add_evidence(session, recommendation=recommendation, data=data, now=clock.now())


@router.get(
    "/recommendations/{recommendation_id}/evidence-links",
    response_model=Page[EvidenceLinkPublic],
    responses=problems(404, 422),
)
def list_evidence_links(
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
