"""Conditional requests: ETags, 304 for unchanged reads, If-Match for changes.

A single resource's ETag is its version and the date the figures are for
("7.20180702"): a change bumps the version, and the overdue figures of a
new day make a new tag. Lists and summaries get a weak ETag from the newest
version of the scopes they read (``app.domain.scopes``; the change counter, the
newest audit event, for those that may read anything), the query and the date,
so a poll that finds nothing new costs one index lookup and no body. A list whose
answer reads what it lists (``app.domain.scopes.LISTED``) is tagged once computed
(``computed_answer``).
If-Match compares the version part, so a tag fetched on another day still
proves the client saw the current version.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter
from sqlmodel import Session

from app.api.answer_scopes import portfolio
from app.api.deps import AsOfDep, OrganisationDep, ReaderDep, ReportDep
from app.api.etags import holds_tag, listed_tags, resource_etag
from app.api.middleware.answer_cache import (
    CACHE_CONTROL,
    AnswerKey,
    answer_key,
    answer_origin,
    listed_answer,
    scopes_read_by,
)
from app.domain import scopes
from app.domain.bounds import as_id
from app.errors import PreconditionFailed, PreconditionRequired
from app.services import change_scopes


class NotModified(Exception):
    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})


async def not_modified_handler(_request: Request, exc: NotModified) -> Response:
    return not_modified(exc.etag)


IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="ETags you hold (from earlier answers): 304, without a body, if one is still current.",
        examples=['"3.20180702"'],
    ),
]


def _answer(header: str | None, response: Response, etag: str) -> None:
    """Raise NotModified when the client holds ``etag``; else label the response with it."""
    if holds_tag(header, etag):
        raise NotModified(etag)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL


async def collection_etag(
    _: ReaderDep,
    request: Request,
    response: Response,
    as_of: AsOfDep,
    if_none_match: IfNoneMatch = None,
) -> None:
    # SharedAnswerMiddleware has usually read the versions for this request already.
    key: AnswerKey | None = getattr(request.state, "answer_key", None)
    if key is None or key.day != as_of.day:
        answer_scopes = scopes_read_by(request.scope["route"].endpoint) or portfolio
        wanted = answer_scopes(request.path_params, request.query_params, as_of.is_current)
        listed = scopes.LISTED in wanted
        counter = request.app.state.change_counter
        version = await (counter.read() if listed else counter.read(wanted))
        query = request.query_params.multi_items()
        key = answer_key(version, request.url.path, query, as_of.day, listed=listed)
        request.state.answer_key = key
        request.state.listed = wanted if listed else None
    if getattr(request.state, "listed", None) is None:
        _answer(if_none_match, response, key.etag)


@dataclass(frozen=True)
class Answer:
    """An answer serialised, and for a page, the total its Link header needs."""

    body: bytes
    known_total: int | None = None

    @property
    def total(self) -> int | None:
        if self.known_total is not None:
            return self.known_total
        return json.loads(self.body).get("total")

    def response(self, headers_from: Response) -> Response:
        """The answer with the headers set on the route's ``response`` (ETag, Link...)."""
        return Response(content=self.body, media_type="application/json", headers=dict(headers_from.headers))


_adapters: dict[object, TypeAdapter] = {}


def _as_json(request: Request, content: object) -> Answer:
    """Validated against the route's response model and serialised, as FastAPI would."""
    model = request.scope["route"].response_model
    adapter = _adapters.get(model) or _adapters.setdefault(model, TypeAdapter(model))
    body = adapter.dump_json(adapter.validate_python(content, from_attributes=True), by_alias=True)
    total = content.get("total") if isinstance(content, dict) else None
    return Answer(body, known_total=total)


async def computed_answer(
    request: Request,
    compute: Callable[[], object],
    *,
    response: Response | None = None,
    listed: Callable[[object], Iterable[int]] | None = None,
    session: Session | None = None,
) -> Answer:
    """The answer SharedAnswerMiddleware holds for this request's key, when the middleware could
    not settle the caller itself (an API key due for a fresh check, say): the route has now.
    Else ``compute()`` (it queries) and its serialisation, in one worker thread: a summary's
    validation would otherwise take a second trip to the thread pool.

    An answer reading what it lists (``LISTED``: ``listed`` names the recommendations in what
    ``compute()`` returned) is tagged here, by the versions of the scopes it read. On SQLite
    they are read in ``session``'s transaction, the snapshot ``compute()`` read: the tag names
    exactly what was computed. Elsewhere (a statement sees every commit before it) they are
    read after, and the answer is tagged only if none moved since the change counter was read
    before it (``app.domain.scopes.listed_tag``)."""
    key: AnswerKey = request.state.answer_key
    wanted = getattr(request.state, "listed", None)
    if wanted is None:
        stored = request.app.state.answer_store.get(key, answer_origin(request))
        if stored is not None and stored.body is not None:
            return Answer(stored.body)
        return await run_in_threadpool(lambda: _as_json(request, compute()))
    if listed is None or response is None:
        raise TypeError("a route whose answer reads what it lists must say what it lists, and where")

    one_snapshot = session is not None and session.get_bind().dialect.name == "sqlite"

    def computed() -> tuple[Answer, frozenset[str], int | None]:
        content = compute()
        read = scopes.listing(wanted, listed(content))
        tag = change_scopes.answer_version(session.connection(), read) if one_snapshot else None
        return _as_json(request, content), read, tag

    answer, read, tag = await run_in_threadpool(computed)
    if tag is None:
        tag = scopes.listed_tag(await request.app.state.change_counter.read(read), key.version)
    if tag is None:  # a write touched what it lists meanwhile: no tag names this answer
        response.headers["Cache-Control"] = CACHE_CONTROL
        return answer
    listed_answer(request.state, read, tag)
    _answer(request.headers.get("if-none-match"), response, AnswerKey(tag, key.digest, key.day).etag)
    return answer


async def organisation_etag(
    organisation: OrganisationDep, response: Response, as_of: AsOfDep, if_none_match: IfNoneMatch = None
) -> None:
    _answer(if_none_match, response, resource_etag(organisation.version, as_of.day))


async def report_etag(
    report: ReportDep, response: Response, as_of: AsOfDep, if_none_match: IfNoneMatch = None
) -> None:
    _answer(if_none_match, response, resource_etag(report.version, as_of.day))


def resource_answer(body: bytes, version: int, day: date, if_none_match: str | None) -> Response:
    """A resource's JSON, already encoded, tagged with its version and the day asked about;
    304 when the client holds that tag."""
    etag = resource_etag(version, day)
    if holds_tag(if_none_match, etag):
        return not_modified(etag)
    return Response(
        body, media_type="application/json", headers={"ETag": etag, "Cache-Control": CACHE_CONTROL}
    )


@dataclass(frozen=True)
class Precondition:
    """The If-Match header of a change, checked only when the route is about to make it.

    A dependency that raised here would answer 428 or 412 before FastAPI reports what is
    wrong with the path or the body; a request that is invalid is a 422 whatever it holds.
    """

    header: str | None

    def version(self) -> int:
        """The version the client last saw: 428 without If-Match, 412 unless it names one."""
        if not self.header:
            raise PreconditionRequired(
                "Send If-Match with the ETag from your last GET of this resource, so that "
                "a change made since cannot be overwritten unseen."
            )
        versions = set()
        for tag in listed_tags(self.header):
            number = tag.strip('"').split(".", 1)[0]
            version = as_id(number)
            if version is not None:  # beyond what the column holds, it names no version: 412
                versions.add(version)
        if len(versions) != 1:
            raise PreconditionFailed("If-Match must carry exactly one ETag of this resource.")
        return versions.pop()


async def if_match(request: Request) -> Precondition:
    """If-Match, read here rather than declared as a parameter, so that a missing one is a 428,
    not a validation error; routes declare it with ``openapi_extra=IF_MATCH`` (app.api.responses)."""
    return Precondition(request.headers.get("if-match"))


CollectionETag = Annotated[None, Depends(collection_etag)]
OrganisationETag = Annotated[None, Depends(organisation_etag)]
ReportETag = Annotated[None, Depends(report_etag)]
IfMatch = Annotated[Precondition, Depends(if_match)]
