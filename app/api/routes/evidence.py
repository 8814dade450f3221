"""Evidence links: http(s) links an owner gives as evidence for a recommendation."""

from fastapi import APIRouter, Request, status

from app.api.deps import IDEMPOTENT, ClockDep, IdPath, OwnerWriterDep
from app.api.responses import problems
from app.api.routes.child_lists import add_child_list
from app.api.writes import claims_its_key, write_in_one_hop
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
@claims_its_key
async def post_evidence_link(
    request: Request,
    actor: OwnerWriterDep,
    recommendation_id: IdPath,
    data: EvidenceLinkCreate,
    clock: ClockDep,
):
    # No RecommendationDep: the link reads the recommendation (404 if there is none) in the
    # write's own hop (see post_progress_update).
    now = clock.now()
    return await write_in_one_hop(
        request,
        lambda session: progress.add_evidence(
            session, actor=actor, recommendation_id=recommendation_id, data=data, now=now
        ),
        status_code=status.HTTP_201_CREATED,
    )


add_child_list(router, "evidence-links", "list_evidence_links", EvidenceLinkPublic, progress.list_evidence)
