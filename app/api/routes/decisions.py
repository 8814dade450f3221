"""Assurers' decisions: verify, close without implementation, reopen."""

from fastapi import APIRouter, status

from app.api.deps import IDEMPOTENT, AssurerDep, ClockDep, RecommendationDep, SessionDep
from app.api.responses import problems
from app.api.routes.child_lists import add_child_list
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


add_child_list(router, "decisions", "list_decisions", DecisionPublic, assurance.list_decisions)
