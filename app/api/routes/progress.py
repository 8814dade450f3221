"""Progress updates: an owner's report of progress on a recommendation."""

from fastapi import APIRouter, Request, Response, status

from app.api.deps import IDEMPOTENT, ClockDep, IdPath, OwnerWriterDep, admits
from app.api.responses import problems
from app.api.routes.child_lists import add_child_list
from app.api.writes import claims_its_key, json_body_as, quick_write, write_in_one_hop
from app.clock import Clock
from app.domain.access import OWNER_WRITE_ROLES, Actor
from app.domain.bounds import as_id
from app.schemas.progress import ProgressUpdateCreate, ProgressUpdatePublic
from app.services import progress

router = APIRouter(tags=["recommendations"])


async def _post(
    request: Request, actor: Actor, recommendation_id: int, data: ProgressUpdateCreate, clock: Clock
) -> Response:
    # No RecommendationDep: its lookup would run in a worker thread of its own and, on SQLite,
    # take the write lock there and hold it while the request went back to the event loop.
    # record_progress reads the recommendation (404 if there is none) in the write's own hop.
    today, now = clock.today(), clock.now()
    return await write_in_one_hop(
        request,
        lambda session: progress.record_progress(
            session, actor=actor, recommendation_id=recommendation_id, data=data, today=today, now=now
        ),
        status_code=status.HTTP_201_CREATED,
    )


async def quick_post(
    request: Request, path_params: dict[str, str], body: bytes, actor: Actor
) -> Response | None:
    """``post_progress_update``'s answer before routing (QuickWriteMiddleware), for a valid
    request from a caller it admits; None for anything else, which the route answers."""
    recommendation_id = as_id(path_params["recommendation_id"])
    data = json_body_as(ProgressUpdateCreate, request, body)
    if (
        recommendation_id is None
        or data is None
        or not admits(request.app.state.settings, actor, OWNER_WRITE_ROLES)
    ):
        return None
    return await _post(request, actor, recommendation_id, data, request.app.state.clock)


@router.post(
    "/recommendations/{recommendation_id}/progress-updates",
    openapi_extra=IDEMPOTENT,
    response_model=ProgressUpdatePublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
@claims_its_key
@quick_write(quick_post)
async def post_progress_update(
    request: Request,
    actor: OwnerWriterDep,
    recommendation_id: IdPath,
    data: ProgressUpdateCreate,
    clock: ClockDep,
):
    """An owner's progress. Editors report for their own organisation; admins and assurers name the owner."""
    return await _post(request, actor, recommendation_id, data, clock)


add_child_list(
    router, "progress-updates", "list_progress_updates", ProgressUpdatePublic, progress.list_progress_updates
)
