"""Assurers' decisions: verify, close without implementation, reopen."""

from fastapi import APIRouter, Request, status

from app.api.deps import IDEMPOTENT, AssurerDep, ClockDep, IdPath
from app.api.responses import problems
from app.api.routes.child_lists import add_child_list
from app.api.writes import claims_its_key, write_in_one_hop
from app.schemas.assurance import DecisionCreate, DecisionPublic
from app.services import assurance

router = APIRouter(tags=["recommendations"])


@router.post(
    "/recommendations/{recommendation_id}/decisions",
    openapi_extra=IDEMPOTENT,
    response_model=DecisionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Verify, close without implementation, or reopen (assurers and admins)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
@claims_its_key
async def decide(
    request: Request,
    actor: AssurerDep,
    recommendation_id: IdPath,
    data: DecisionCreate,
    clock: ClockDep,
):
    # No RecommendationDep: the decision reads the recommendation (404 if there is none) in the
    # write's own hop (see post_progress_update).
    today, now = clock.today(), clock.now()
    return await write_in_one_hop(
        request,
        lambda session: DecisionPublic.model_validate(
            assurance.decide(
                session, actor=actor, recommendation_id=recommendation_id, data=data, today=today, now=now
            )
        ),
        status_code=status.HTTP_201_CREATED,
    )


add_child_list(router, "decisions", "list_decisions", DecisionPublic, assurance.list_decisions)
