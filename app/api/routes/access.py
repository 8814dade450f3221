"""API keys (admins) and the audit trail (admins and assurers)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.conditional import CollectionETag
from app.api.deps import IDEMPOTENT, MAX_ID, AdminDep, AssurerDep, ClockDep, IdPath, SessionDep, SettingsDep
from app.api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageDep, paged
from app.api.responses import NEW_ID, conditional_read, created, link, problems
from app.schemas.common import NO_NUL, Instant, Page
from app.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, AuditEventPublic, Change, ChangePage
from app.services import audit, keys

router = APIRouter(tags=["access"])


@router.post(
    "/keys",
    openapi_extra=IDEMPOTENT,
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (admin); the key is shown once",
    responses={
        **created({"RevokeKey": link("revoke_key", "Revoke the new key.", key_id=NEW_ID)}),
        **problems(400, 401, 403, 409, 413, 422),
    },
)
def create_key(
    actor: AdminDep, data: ApiKeyCreate, session: SessionDep, settings: SettingsDep, clock: ClockDep
):
    api_key, secret = keys.create_key(
        session,
        actor=actor,
        name=data.name,
        role=data.role,
        organisation_code=data.organisation_code,
        secret=settings.key_secret,
        now=clock.now(),
    )
    return ApiKeyCreated(**ApiKeyPublic.model_validate(api_key).model_dump(), key=secret)


@router.get(
    "/keys",
    response_model=Page[ApiKeyPublic],
    summary="List API keys (admin)",
    responses=conditional_read(401, 403, 422),
)
def list_keys(
    _etag: CollectionETag,
    _: AdminDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = keys.list_keys(session, limit=page.limit, offset=page.offset)
    return paged(request, response, page, items, total)


@router.post(
    "/keys/{key_id}/revoke",
    openapi_extra=IDEMPOTENT,
    response_model=ApiKeyPublic,
    summary="Revoke an API key (admin); it stops working at once",
    responses=problems(401, 403, 404, 409, 413, 422),
)
def revoke_key(actor: AdminDep, key_id: IdPath, request: Request, session: SessionDep, clock: ClockDep):
    revoked = keys.revoke_key(session, actor=actor, api_key=keys.get_key(session, key_id), now=clock.now())
    request.app.state.key_cache.forget(revoked.id)
    return revoked


@router.get(
    "/audit-events",
    response_model=Page[AuditEventPublic],
    summary="The audit trail, newest first (admins and assurers)",
    responses=conditional_read(401, 403, 422),
)
def list_audit_events(
    _etag: CollectionETag,
    _: AssurerDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    entity: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    entity_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=40, pattern=NO_NUL)] = None,
    api_key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[Instant | None, Query(description="Events at or after this time (with a zone).")] = None,
    until: Annotated[Instant | None, Query(description="Events before this time (with a zone).")] = None,
) -> dict:
    items, total = audit.list_events(
        session,
        entity=entity,
        entity_id=entity_id,
        action=action,
        api_key_id=api_key_id,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    return paged(request, response, page, items, total)


@router.get(
    "/changes",
    response_model=ChangePage,
    summary="What changed, in commit order, after a cursor",
    description=(
        "Follow `next_cursor` to sync without rescanning: a cursor never skips a committed change, "
        "even with concurrent writers, because changes are numbered in the order they commit."
    ),
    responses=conditional_read(401, 422),
)
def list_changes(
    _etag: CollectionETag,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="The cursor of the last change you have.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> ChangePage:
    events = audit.list_changes(session, after=after, limit=limit + 1)
    page = events[:limit]
    return ChangePage(
        items=[
            Change(
                cursor=e.id,
                entity=e.entity,
                entity_id=e.entity_id,
                action=e.action,
                occurred_at=e.occurred_at,
            )
            for e in page
        ],
        next_cursor=page[-1].id if page else after,
        has_more=len(events) > limit,
    )
