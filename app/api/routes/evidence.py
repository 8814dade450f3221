"""Evidence links: http(s) links an owner gives as evidence for a recommendation."""

from fastapi import APIRouter, status

from app.api.deps import IDEMPOTENT, ClockDep, OwnerWriterDep, RecommendationDep, SessionDep
from app.api.responses import problems
from app.api.routes.child_lists import add_child_list
from app.schemas.progress import EvidenceLinkCreate, EvidenceLinkPublic
from app.services import progress

router = APIRouter(tags=["recommendations"])


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


add_child_list(router, "evidence-links", "list_evidence_links", EvidenceLinkPublic, progress.list_evidence)
