"""Dependencies the routes share: session, clock, settings, the caller, as_of and get-or-404 lookups.

Who may call and which date is asked about are decided here only: the answer cache
(middleware/answer_cache.py) uses the same functions before routing.

FastAPI resolves every dependency of every request, so the ones on the path of every
request read the application's state (settings, engine, key cache, the clock object)
directly rather than through further dependencies. The clock is the one thing that reads
the time; routes take it as a dependency (``ClockDep``), so a test can set another.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import date
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from app.clock import Clock
from app.config import Settings
from app.domain.access import ADMIN_ROLES, ANONYMOUS, ASSURANCE_ROLES, OWNER_WRITE_ROLES, READ_ROLES, Actor
from app.domain.bounds import MAX_ID
from app.domain.status import Role
from app.errors import AppError, Forbidden, Unauthorized
from app.models import Organisation, Recommendation, Report
from app.schemas.common import Day
from app.services import keys, organisations, recommendations, reports, sessions
from app.services.as_of import AsOf
from app.services.key_cache import CachedKey, KeyCache

IDEMPOTENT_CONNECTION = "idempotent_connection"  # set by the idempotency middleware
WRITE_ACTOR = "write_actor"  # the scope's state: a write's caller, authenticated by the write gate
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session, one connection and one transaction per request.

    The session connects on its first query, in the worker thread that makes it: a request
    answered from memory (a 304, a cached summary) never takes a connection, and none of
    this runs database calls on the event loop.
    """
    state = request.app.state
    claimed = getattr(request.state, IDEMPOTENT_CONNECTION, None)
    if claimed is not None:
        # Inside the transaction that holds the Idempotency-Key: the services' commits are
        # savepoints, and the middleware commits the whole with the answer.
        session = Session(bind=claimed, expire_on_commit=False, join_transaction_mode="create_savepoint")
    else:
        engine: Engine = state.engine if request.method in SAFE_METHODS else state.writers_engine
        session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)  # rolls back whatever was left uncommitted
        else:
            session.close()


async def in_worker_thread(session: Session, work: Callable[..., T], *args, **kwargs) -> T:
    """Run a route's database work in one worker thread and end its transaction there.

    Services commit their own writes, so what is left to end is a read (or a failed
    write): rolled back in the same thread, the session holds no connection when the
    request finishes, and FastAPI validates the answer on the event loop instead of in
    another thread, as it would for a plain ``def`` route. ``work`` returns response
    models, not table rows: the rollback expires rows, and reading one on the event loop
    would query there.
    """

    def run() -> T:
        try:
            return work(*args, **kwargs)
        finally:
            session.rollback()

    return await run_in_threadpool(run)


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_as_of(
    request: Request,
    clock: ClockDep,
    as_of: Annotated[
        Day | None,
        Query(description="The date to answer for; today (Europe/London) when left out."),
    ] = None,
) -> AsOf:
    return as_of_on(clock, request.app.state.settings, as_of)


def as_of_on(clock: Clock, settings: Settings, day: date | None) -> AsOf:
    """The question's date: ``day``, today when left out."""
    today = clock.today()
    return AsOf(day=day or today, today=today, due_soon_working_days=settings.due_soon_working_days)


_DAY = TypeAdapter(Day)


def as_of_in_query(clock: Clock, settings: Settings, raw: str | None) -> AsOf | None:
    """``get_as_of`` for a raw ``as_of`` query parameter read outside routing; None when it is not
    a valid date (a route then explains what is wrong)."""
    try:
        day = None if raw is None else _DAY.validate_python(raw)
    except ValidationError:
        return None
    return as_of_on(clock, settings, day)


AsOfDep = Annotated[AsOf, Depends(get_as_of)]


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer rtk_...`. Make one with `rectrack keys create`.",
)


CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def identify(
    request: Request, session: Session | None, credentials: HTTPAuthorizationCredentials | None
) -> Actor:
    """Who is calling: the key's role and organisation, or an anonymous reader.

    The key comes from the Authorization header or, for reads only, from a browser's session
    cookie (the dashboard's sign-in): a cookie never authorises a write, so no other site can
    make a signed-in browser change anything. The database is read only for a key not in the
    key cache, in ``session`` or, when None, in a session of its own.
    """
    request_id = getattr(request.state, "request_id", None)
    state = request.app.state
    cache: KeyCache = state.key_cache
    settings: Settings = state.settings
    if credentials is not None:
        key_hash = key_hash_of(state, credentials.credentials)
        api_key = cache.get(key_hash)
        if api_key is None:
            api_key = await run_in_threadpool(
                _in_session, state, session, _authenticate, credentials.credentials, settings.key_secret
            )
            if api_key is None:
                raise Unauthorized("The API key is not valid, or it has been revoked.", invalid_token=True)
            cache.put(key_hash, api_key)
    else:
        api_key = await _session_key(request, session, cache, settings)
        if api_key is None:
            return replace(ANONYMOUS, request_id=request_id)
    now = state.clock.now()
    if cache.claim_touch(api_key, now):
        await run_in_threadpool(state.key_usage_recorder, api_key.id, now)
    return actor_of(api_key, request_id)


def actor_of(api_key: CachedKey, request_id: str | None) -> Actor:
    return Actor(
        role=Role(api_key.role),
        api_key_id=api_key.id,
        organisation_id=api_key.organisation_id,
        request_id=request_id,
        name=api_key.name,
    )


def bearer_token(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, read as ``bearer`` reads it."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" and token else None


def key_hash_of(state, token: str) -> str:
    return keys.hash_key(token, state.settings.key_secret)


def key_in_memory(state, token: str) -> CachedKey | None:
    """The key ``token`` names, if this process has it in its key cache."""
    return state.key_cache.get(key_hash_of(state, token))


async def _session_key(request: Request, session: Session | None, cache: KeyCache, settings: Settings):
    """The key a browser signed in with, while the session lasts and the key is not revoked."""
    if request.method not in SAFE_METHODS:
        return None
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    token = sessions.read(cookie, secret=settings.key_secret, now=request.app.state.clock.now())
    if token is None:
        return None
    request.state.browser_session = token
    cache_key = f"session:{token.key_id}"
    api_key = cache.get(cache_key)
    if api_key is None:
        api_key = await run_in_threadpool(_in_session, request.app.state, session, _active_key, token.key_id)
        if api_key is not None:
            cache.put(cache_key, api_key)
    return api_key


def _in_session(state, session: Session | None, work: Callable[..., T], *args) -> T:
    if session is not None:
        return work(session, *args)
    with state.open_session() as own:
        return work(own, *args)


def _cached(found) -> CachedKey:
    return CachedKey(found.id, found.role, found.organisation_id, found.name, found.last_used_at)


def _active_key(session: Session, key_id: int) -> CachedKey | None:
    try:
        found = keys.find_active(session, key_id)
        return None if found is None else _cached(found)
    finally:
        session.rollback()


def _authenticate(session: Session, presented: str, secret: str) -> CachedKey | None:
    """The key, looked up in a transaction of its own: a write request must not hold the write
    lock (SQLite's, taken at BEGIN IMMEDIATE) while it records the key's use or before it writes."""
    try:
        found = keys.authenticate(session, presented=presented, secret=secret)
        return None if found is None else _cached(found)
    finally:
        session.rollback()


def require(roles: frozenset[Role], *, read: bool = False):
    """A dependency admitting keys with one of ``roles`` (and anonymous readers, if allowed).

    It identifies the caller itself rather than through a further dependency: FastAPI's cost
    is per dependency, on every request. A write's caller the write gate has identified already.
    """

    async def dependency(request: Request, credentials: CredentialsDep) -> Actor:
        actor = request.scope.get("state", {}).get(WRITE_ACTOR)
        if actor is None:
            actor = await identify(request, None, credentials)
        admit(request.app.state.settings, actor, roles, read=read)
        return actor

    return dependency


def admit(settings: Settings, actor: Actor, roles: frozenset[Role], *, read: bool = False) -> None:
    """401 for an anonymous caller (unless ``read`` and anonymous reads are on), 403 for a key
    whose role is not one of ``roles``."""
    if actor.is_anonymous:
        if read and settings.anonymous_reads:
            return
        raise Unauthorized("Send an API key: 'Authorization: Bearer <key>'.")
    if actor.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Forbidden(f"A {actor.role} key may not do this (it needs: {allowed}).")


def admits(settings: Settings, actor: Actor, roles: frozenset[Role], *, read: bool = False) -> bool:
    """Whether ``admit`` lets ``actor`` through."""
    try:
        admit(settings, actor, roles, read=read)
    except AppError:
        return False
    return True


ReaderDep = Annotated[Actor, Depends(require(READ_ROLES, read=True))]
OwnerWriterDep = Annotated[Actor, Depends(require(OWNER_WRITE_ROLES))]
AssurerDep = Annotated[Actor, Depends(require(ASSURANCE_ROLES))]
AdminDep = Annotated[Actor, Depends(require(ADMIN_ROLES))]


IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]  # an id in the path: a positive 32-bit integer


# Lookups check the caller first, so an unauthenticated request learns nothing from a 404.
def valid_organisation(_: ReaderDep, session: SessionDep, organisation_id: IdPath) -> Organisation:
    return organisations.get_organisation(session, organisation_id)


def valid_report(_: ReaderDep, session: SessionDep, report_id: IdPath) -> Report:
    return reports.get_report(session, report_id)


def valid_recommendation(_: ReaderDep, session: SessionDep, recommendation_id: IdPath) -> Recommendation:
    return recommendations.get_recommendation(session, recommendation_id)


OrganisationDep = Annotated[Organisation, Depends(valid_organisation)]
ReportDep = Annotated[Report, Depends(valid_report)]
RecommendationDep = Annotated[Recommendation, Depends(valid_recommendation)]


# Declared for the OpenAPI document only: IdempotencyMiddleware reads and checks the header
# before routing, so a dependency would only repeat its work on every request.
IDEMPOTENT = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "Optional. A unique key for this request: a retry with the same key gets the first answer "
                "again and changes nothing. Keys are kept at least 24 hours."
            ),
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": r"^[\x21-\x7e]+$",  # visible ASCII, as IdempotencyMiddleware requires
                "title": "Idempotency-Key",
            },
        }
    ]
}
