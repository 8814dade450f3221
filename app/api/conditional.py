"""Conditional requests: ETags, 304 for unchanged reads, If-Match for changes.

A single resource's ETag is its version and the date the figures are for
("7.20180702"): a change bumps the version, and the overdue figures of a
new day make a new tag. Lists and summaries get a weak ETag from the change
counter (the newest audit event: every write makes one), the query and the
date, so a poll that finds nothing new costs one index lookup and no body.
If-Match compares the version part, so a tag fetched on another day still
proves the client saw the current version.
"""

import hashlib
from datetime import date
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import func
from sqlmodel import select

from app.api.deps import AsOfDep, OrganisationDep, ReaderDep, RecommendationDep, ReportDep, SessionDep
from app.errors import PreconditionFailed, PreconditionRequired
from app.models import AuditEvent

CACHE_CONTROL = "private, no-cache"


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def not_modified_response(exc: NotModified) -> Response:
    return Response(status_code=304, headers={"ETag": exc.etag, "Cache-Control": CACHE_CONTROL})


def resource_etag(version: int, day: date) -> str:
    return f'"{version}.{day:%Y%m%d}"'


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _answer(request: Request, response: Response, etag: str) -> None:
    """Raise NotModified when the client holds ``etag``; else label the response with it."""
    header = request.headers.get("if-none-match")
    if header and (header.strip() == "*" or etag.removeprefix("W/") in _tags(header)):
        raise NotModified(etag)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL


def change_counter(session) -> int:
    return session.exec(select(func.max(AuditEvent.id))).one() or 0


def collection_etag(
    _: ReaderDep, request: Request, response: Response, session: SessionDep, as_of: AsOfDep
) -> None:
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    digest = hashlib.sha256(f"{request.url.path}?{query}|{as_of.day}".encode()).hexdigest()[:16]
    counter = change_counter(session)
    # What the database looked like for this request: the key of any cached answer.
    request.state.cache_key = (counter, digest)
    _answer(request, response, f'W/"{counter}-{digest}"')


def organisation_etag(
    organisation: OrganisationDep, request: Request, response: Response, as_of: AsOfDep
) -> None:
    _answer(request, response, resource_etag(organisation.version, as_of.day))


def report_etag(report: ReportDep, request: Request, response: Response, as_of: AsOfDep) -> None:
    _answer(request, response, resource_etag(report.version, as_of.day))


def recommendation_etag(
    recommendation: RecommendationDep, request: Request, response: Response, as_of: AsOfDep
) -> None:
    _answer(request, response, resource_etag(recommendation.version, as_of.day))


def if_match_version(request: Request) -> int:
    """The version the client last saw, from If-Match; 428 without one."""
    header = request.headers.get("if-match")
    if not header:
        raise PreconditionRequired(
            "Send If-Match with the ETag from your last GET of this resource, so that "
            "a change made since cannot be overwritten unseen."
        )
    versions = set()
    for tag in _tags(header):
        number = tag.strip('"').split(".", 1)[0]
        if number.isdigit():
            versions.add(int(number))
    if len(versions) != 1:
        raise PreconditionFailed("If-Match must carry exactly one ETag of this resource.")
    return versions.pop()


CollectionETag = Annotated[None, Depends(collection_etag)]
OrganisationETag = Annotated[None, Depends(organisation_etag)]
ReportETag = Annotated[None, Depends(report_etag)]
RecommendationETag = Annotated[None, Depends(recommendation_etag)]
IfMatch = Annotated[int, Depends(if_match_version)]
