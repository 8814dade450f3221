"""Webhook endpoints and their delivery log (admin)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from app.api.conditional import CollectionETag, IfMatch, IfNoneMatch, _answer
from app.api.deps import AdminDep, AsOfDep, ClockDep, IdPath, SessionDep, SettingsDep
from app.api.etags import resource_etag
from app.api.pagination import PageDep, paged
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
from app.config import Settings
from app.models import WebhookEndpoint
from app.schemas.common import Page
from app.schemas.webhooks import (
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from app.services import webhooks as service
from app.services.webhook_network import checked_target

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def valid_endpoint(_: AdminDep, session: SessionDep, webhook_id: IdPath) -> WebhookEndpoint:
    return service.get_endpoint(session, webhook_id)


EndpointDep = Annotated[WebhookEndpoint, Depends(valid_endpoint)]


def _url_checker(request: Request, settings: Settings):
    allowed, resolver = settings.allowed_networks, request.app.state.resolve_host
    return lambda url: checked_target(url, allowed, resolver)


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(
        **WebhookEndpointPublic.model_validate(endpoint, from_attributes=True).model_dump(), secret=secret
    )


@router.post(
    "",
    response_model=WebhookEndpointWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint (admin); its signing secret is shown once",
    responses={
        **created({"ReadWebhook": link("read_webhook", "The new endpoint.", webhook_id=NEW_ID)}),
        **problems(400, 401, 403, 413, 422),
    },
)
def create_webhook(
    actor: AdminDep,
    data: WebhookEndpointCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    as_of: AsOfDep,
    request: Request,
    response: Response,
):
    endpoint, secret = service.create_endpoint(
        session,
        actor=actor,
        data=data,
        check_url=_url_checker(request, settings),
        settings=settings,
        now=clock.now(),
    )
    response.headers["Location"] = str(request.url_for("read_webhook", webhook_id=endpoint.id))
    response.headers["ETag"] = resource_etag(endpoint.version, as_of.day)
    return _with_secret(endpoint, secret)


@router.get(
    "",
    response_model=Page[WebhookEndpointPublic],
    summary="List webhook endpoints (admin)",
    responses=conditional_read(401, 403, 422),
)
def list_webhooks(
    _etag: CollectionETag,
    _: AdminDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = service.list_endpoints(session, limit=page.limit, offset=page.offset)
    return paged(request, response, page, items, total)


@router.get(
    "/{webhook_id}",
    response_model=WebhookEndpointPublic,
    summary="One webhook endpoint (admin)",
    responses=conditional_read(
        401,
        403,
        404,
        422,
        links={"UpdateWebhook": with_etag("update_webhook", CHANGE, webhook_id=same("webhook_id"))},
    ),
)
def read_webhook(
    endpoint: EndpointDep, response: Response, as_of: AsOfDep, if_none_match: IfNoneMatch = None
):
    _answer(if_none_match, response, resource_etag(endpoint.version, as_of.day))
    return endpoint


@router.patch(
    "/{webhook_id}",
    response_model=WebhookEndpointPublic,
    summary="Change a webhook endpoint (admin); `disabled: false` enables it again",
    responses=conditional_update(
        401,
        403,
        404,
        422,
        links={"UpdateWebhook": with_etag("update_webhook", AGAIN, webhook_id=same("webhook_id"))},
    ),
    openapi_extra=IF_MATCH,
)
def update_webhook(
    actor: AdminDep,
    endpoint: EndpointDep,
    data: WebhookEndpointUpdate,
    expected_version: IfMatch,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    as_of: AsOfDep,
    request: Request,
    response: Response,
):
    endpoint = service.update_endpoint(
        session,
        actor=actor,
        endpoint=endpoint,
        data=data,
        expected_version=expected_version.version(),
        check_url=_url_checker(request, settings),
        now=clock.now(),
    )
    response.headers["ETag"] = resource_etag(endpoint.version, as_of.day)
    return endpoint


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint and its delivery log (admin)",
    responses=problems(401, 403, 404, 422),
)
def delete_webhook(actor: AdminDep, endpoint: EndpointDep, session: SessionDep, clock: ClockDep) -> Response:
    service.delete_endpoint(session, actor=actor, endpoint=endpoint, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    summary="Rotate the signing secret (admin); the old one signs beside the new one for a while",
    responses=problems(401, 403, 404, 422),
)
def rotate_webhook_secret(
    actor: AdminDep,
    endpoint: EndpointDep,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    as_of: AsOfDep,
    response: Response,
):
    endpoint, secret = service.rotate_secret(
        session, actor=actor, endpoint=endpoint, settings=settings, now=clock.now()
    )
    response.headers["ETag"] = resource_etag(endpoint.version, as_of.day)
    return _with_secret(endpoint, secret)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryPublic],
    summary="The delivery log: every delivery, newest first, with each attempt (admin)",
    responses=conditional_read(401, 403, 404, 422),
)
def list_webhook_deliveries(
    _etag: CollectionETag,
    endpoint: EndpointDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
) -> dict:
    items, total = service.list_deliveries(session, endpoint=endpoint, limit=page.limit, offset=page.offset)
    return paged(request, response, page, items, total)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=WebhookDeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again, with the same webhook-id (admin)",
    responses=problems(401, 403, 404, 422),
)
def redeliver_webhook(
    actor: AdminDep, endpoint: EndpointDep, delivery_id: IdPath, session: SessionDep, clock: ClockDep
):
    return service.redeliver(
        session, actor=actor, endpoint=endpoint, delivery_id=delivery_id, now=clock.now()
    )
