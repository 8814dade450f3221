from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api import answer_scopes
from app.api.conditional import CollectionETag, IfMatch, OrganisationETag, computed_answer
from app.api.deps import IDEMPOTENT, AdminDep, AsOfDep, ClockDep, OrganisationDep, ReaderDep, SessionDep
from app.api.etags import resource_etag
from app.api.middleware.answer_cache import shared_answer
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
from app.domain.status import OrganisationKind
from app.schemas.common import Page
from app.schemas.organisations import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from app.schemas.summaries import OrganisationSummary
from app.services import organisations as service
from app.services import summaries

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", response_model=Page[OrganisationPublic], responses=conditional_read(401, 422))
@shared_answer(scopes=answer_scopes.organisation_directory)
def list_organisations(
    _etag: CollectionETag,
    _: ReaderDep,
    request: Request,
    response: Response,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[OrganisationKind | None, Query()] = None,
) -> dict:
    items, total = service.list_organisations(session, kind=kind, limit=page.limit, offset=page.offset)
    return paged(request, response, page, items, total)


@router.post(
    "",
    openapi_extra=IDEMPOTENT,
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an organisation (admin)",
    responses={
        **created(
            {"ReadOrganisation": link("read_organisation", "The new organisation.", organisation_id=NEW_ID)}
        ),
        **problems(400, 401, 403, 409, 413, 422),
    },
)
def create_organisation(
    actor: AdminDep,
    data: OrganisationCreate,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    response: Response,
):
    organisation = service.create_organisation(session, actor=actor, data=data, now=clock.now())
    response.headers["Location"] = str(request.url_for("read_organisation", organisation_id=organisation.id))
    return organisation


@router.get(
    "/{organisation_id}",
    response_model=OrganisationPublic,
    responses=conditional_read(
        401,
        404,
        422,
        links={
            "UpdateOrganisation": with_etag(
                "update_organisation", CHANGE, organisation_id=same("organisation_id")
            )
        },
    ),
)
def read_organisation(_etag: OrganisationETag, organisation: OrganisationDep):
    return organisation


@router.patch(
    "/{organisation_id}",
    response_model=OrganisationPublic,
    summary="Change an organisation (admin)",
    responses=conditional_update(
        401,
        403,
        404,
        409,
        422,
        links={
            "UpdateOrganisation": with_etag(
                "update_organisation", AGAIN, organisation_id=same("organisation_id")
            )
        },
    ),
    openapi_extra=IF_MATCH,
)
def update_organisation(
    actor: AdminDep,
    organisation: OrganisationDep,
    data: OrganisationUpdate,
    expected_version: IfMatch,
    session: SessionDep,
    clock: ClockDep,
    as_of: AsOfDep,
    response: Response,
):
    organisation = service.update_organisation(
        session,
        actor=actor,
        organisation=organisation,
        data=data,
        expected_version=expected_version.version(),
        now=clock.now(),
    )
    response.headers["ETag"] = resource_etag(organisation.version, as_of.day)
    return organisation


@router.get(
    "/{organisation_id}/summary",
    response_model=OrganisationSummary,
    summary="What one organisation owns, as of a date",
    responses=conditional_read(401, 404, 422),
)
@shared_answer(scopes=answer_scopes.organisation_summary)
async def organisation_summary(
    _etag: CollectionETag,
    organisation: OrganisationDep,
    request: Request,
    response: Response,
    session: SessionDep,
    as_of: AsOfDep,
):
    answer = await computed_answer(
        request, lambda: summaries.organisation_summary(session, organisation=organisation, as_of=as_of)
    )
    return answer.response(response)
