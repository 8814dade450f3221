"""A recommendation's target date: changed by PATCH, every revision listed."""

from fastapi import APIRouter, Response

from app.api.conditional import IfMatch
from app.api.deps import AsOfDep, ClockDep, OwnerWriterDep, RecommendationDep, SessionDep, SettingsDep
from app.api.etags import resource_etag
from app.api.responses import AGAIN, IF_MATCH, conditional_update, same, with_etag
from app.api.routes.child_lists import add_child_list
from app.schemas.assurance import TargetDateChange, TargetDateRevisionPublic
from app.schemas.recommendations import RecommendationPublic
from app.services import recommendations, target_dates

router = APIRouter(tags=["recommendations"])


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
    settings: SettingsDep,
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
        horizon_years=settings.target_date_horizon_years,
    )
    response.headers["ETag"] = resource_etag(recommendation.version, as_of.day)
    return recommendations.recommendation_view(session, recommendation, as_of=as_of)


add_child_list(
    router,
    "target-date-revisions",
    "list_target_date_revisions",
    TargetDateRevisionPublic,
    target_dates.list_revisions,
)
