"""API keys (admins) and the audit trail (admins and assurers)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from app.api.deps import MAX_ID, AdminDep, AssurerDep, ClockDep, SessionDep, SettingsDep
from app.api.pagination import PageDep, paged
from app.api.responses import problems
from app.schemas.common import Page
from app.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, AuditEventPublic
from app.services import audit, keys

router = APIRouter(tags=["access"])

KeyId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (admin); the key is shown once",
    responses=problems(401, 403, 422),
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
    responses=problems(401, 403, 422),
)
def list_keys(_: AdminDep, request: Request, response: Response, session: SessionDep, page: PageDep) -> dict:
    items, total = keys.list_keys(session, limit=page.limit, offset=page.offset)
    return paged(request, response, page, items, total)


@router.post(
    "/keys/{key_id}/revoke",
    response_model=ApiKeyPublic,
    summary="Revoke an API key (admin); it stops working at once",
    responses=problems(401, 403, 404, 422),
)
def revoke_key(actor: AdminDep, key_id: KeyId, session: SessionDep, clock: ClockDep):
    return keys.revoke_key(session, actor=actor, api_key=keys.get_key(session, key_id), now=clock.now())


@router.get(
    "/audit-events",
    response_model=Page[AuditEventPublic],
    summary="The audit trail, newest first (admins and assurers)",
    responses=problems(401, 403, 422),
)
def list_audit_events(
    _: AssurerDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    entity: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    api_key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Events at or after this time (with a zone).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Events before this time (with a zone).")
    ] = None,
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
