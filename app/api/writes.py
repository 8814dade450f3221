"""A write in one hop: the service run, its Idempotency-Key claimed with its answer and the
whole committed, in one transaction, on the event loop or in one worker thread.

Claiming in one hop, writing in a second and storing the answer in a third held SQLite's write
lock (taken at ``BEGIN IMMEDIATE``) across two returns to the event loop, where the request
waited its turn behind every other request's work while the writers behind it waited for the
lock. In one hop the lock is taken and given back in the same call.

The hop is usually none: the write runs on the event loop (``app.db.loop_writes``), on SQLite
when the write lock is free, on PostgreSQL always; every write through ``write_in_one_hop`` is
one recommendation's handful of rows.

Routes marked ``@claims_its_key`` answer through ``write_in_one_hop``. The idempotency
middleware does not claim their keys itself: it leaves a ``PendingClaim`` for the route to take.
A request refused before the route ran (an invalid body, a role the route does not admit) wrote
nothing, so the middleware claims its key and stores that answer together afterwards.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, RootTransaction
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from app.api.deps import IDEMPOTENT_CONNECTION
from app.api.problems import app_error_response, problem_response
from app.db.engine import WriteTurnTaken
from app.db.loop_writes import LoopWrites
from app.domain.access import Actor
from app.errors import AppError
from app.services import audit
from app.services.idempotency import Claim, IdempotencyStore, Outcome

PENDING_CLAIM = "pending_idempotency_claim"  # the scope's state: set by IdempotencyMiddleware
REPLAYED_HEADERS = ("content-type", "location", "etag")  # what a replay repeats besides the body

F = TypeVar("F", bound=Callable)
M = TypeVar("M", bound=BaseModel)
# A write's answer before routing (path parameters, the body, the authenticated caller), or None
# when only the route can tell (app.api.middleware.quick_write).
QuickWrite = Callable[[Request, dict[str, str], bytes, Actor], Awaitable[Response | None]]


@dataclass
class PendingClaim:
    """An Idempotency-Key for the route to claim in its own transaction."""

    store: IdempotencyStore
    scope: str
    key: str
    request_hash: str
    now: datetime
    taken: bool = False  # by the route: its answer is committed with its write

    def begin(self, connection: Connection) -> RootTransaction:
        """The transaction on ``connection`` for the write and its answer (``keep``)."""
        return self.store.begin(connection, now=self.now)

    def keep(
        self,
        connection: Connection,
        status: int,
        raw_headers: list,
        body: bytes,
        event: audit.HeldEvent | None = None,
    ) -> Claim | None:
        """The key claimed with this answer in the open transaction (None: commit it), with the
        write's audit ``event`` if it was held back; or the key's first answer, the transaction
        rolled back (``Outcome.NEW``: the key is free again)."""
        return self.store.keep_new(
            connection,
            scope=self.scope,
            key=self.key,
            request_hash=self.request_hash,
            now=self.now,
            status=status,
            headers=kept_headers(raw_headers),
            body=body.decode("utf-8", errors="replace"),
            event=event.parameters if event is not None else None,
        )


def claims_its_key(endpoint: F) -> F:
    """Marks a route that answers through ``write_in_one_hop``: it claims its Idempotency-Key
    itself, in the write's own transaction."""
    endpoint.claims_its_key = True  # type: ignore[attr-defined]
    return endpoint


def claims_its_key_of(endpoint: Callable) -> bool:
    return getattr(endpoint, "claims_its_key", False)


def quick_write(quick: QuickWrite):
    """Marks a route whose writes ``quick`` answers before routing when it can: as the route
    would, through the same service, without FastAPI's routing and dependency solving."""

    def mark(endpoint: F) -> F:
        endpoint.quick_write = quick  # type: ignore[attr-defined]
        return endpoint

    return mark


def quick_write_of(endpoint: Callable) -> QuickWrite | None:
    return getattr(endpoint, "quick_write", None)


def json_body_as(model: type[M], request: Request, body: bytes) -> M | None:
    """The JSON body as ``model``, read as FastAPI reads a route's body; None when it is not
    JSON or does not validate (the route answers why)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return None
    try:
        return model.model_validate(json.loads(body))
    except ValueError:  # not JSON, not UTF-8, or pydantic's ValidationError
        return None


def replayed(body: bytes) -> Receive:
    """``receive`` for the app: a body read already, once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def write_in_one_hop(
    request: Request, work: Callable[[Session], BaseModel], *, status_code: int
) -> Response:
    """``work``'s answer, rendered, from a session on a connection of its own (``work``
    commits): on the event loop (``app.db.loop_writes``), or from a worker thread: on SQLite when
    the write lock stays held, and for the minute's first write with a key, which also deletes
    the expired ones.

    With a pending Idempotency-Key, the claim, the write and the answer (an ``AppError``'s
    problem too) commit together, or the first answer is replayed and nothing runs.
    """
    writers: Engine = request.app.state.writers_engine
    loop_writes: LoopWrites | None = request.app.state.loop_writes
    state = request.scope.get("state", {})
    pending: PendingClaim | None = state.get(PENDING_CLAIM)
    if pending is None:

        def write(connection: Connection) -> Response:
            return _write(connection, work, status_code)

        claimed: Connection | None = state.get(IDEMPOTENT_CONNECTION)
        if claimed is not None:
            # A key the middleware claimed itself (a route not marked @claims_its_key): join its transaction.
            return await run_in_threadpool(write, claimed)
    else:
        pending.taken = True

        def write(connection: Connection) -> Response:
            return _write_once(request, connection, pending, work, status_code)

        if pending.store.purge_due(pending.now):
            loop_writes = None
    if loop_writes is not None:
        try:
            return await loop_writes.run(write)
        except WriteTurnTaken:
            pass  # nothing written: wait for the lock in a worker thread

    def write_in_thread() -> Response:
        with writers.connect() as connection:  # closing rolls back whatever did not commit
            return write(connection)

    return await run_in_threadpool(write_in_thread)


def _write(connection: Connection, work: Callable[[Session], BaseModel], status_code: int) -> Response:
    """``work`` in a session that commits the transaction it begins on ``connection``, or in a
    savepoint of the transaction ``connection`` is in (the middleware's claim)."""
    joined = {"join_transaction_mode": "create_savepoint"} if connection.in_transaction() else {}
    # Closing the session rolls back what is left.
    with Session(bind=connection, expire_on_commit=False, **joined) as session:
        return rendered(work(session), status_code)


def _write_once(
    request: Request,
    connection: Connection,
    pending: PendingClaim,
    work: Callable[[Session], BaseModel],
    status_code: int,
) -> Response:
    """The write, then its key claimed with its answer in the same transaction (one statement,
    where a claim first and its answer afterwards took two, and on PostgreSQL the write's audit
    event in it too), committed together. A key taken first (a retry, on the unique key) rolls
    the write back and answers as the first did."""
    while True:
        transaction = pending.begin(connection)
        held = audit.HeldEvent()
        try:
            # The service's commit does not end the transaction; this function commits it.
            with Session(
                bind=connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
                info={audit.HELD_IN: held},
            ) as session:
                response = rendered(work(session), status_code)
        except AppError as refused:
            # Refusals are rare: rather than a savepoint around every write, the refused
            # write is rolled back, and the key claimed with the refusal as its answer.
            connection.rollback()
            response = app_error_response(request, refused)
            taken = claim_with_answer(
                pending, connection, response.status_code, response.raw_headers, response.body
            )
            return response if taken is None else answer_to_taken_key(request, taken)
        if not transaction.is_active:  # the work ended the transaction: commit nothing
            raise RuntimeError("the write ended the transaction that is to hold its Idempotency-Key")
        taken = pending.keep(connection, response.status_code, response.raw_headers, response.body, held)
        if taken is None:
            connection.commit()
            return response
        if taken.outcome is not Outcome.NEW:
            return answer_to_taken_key(request, taken)


def claim_with_answer(
    pending: PendingClaim, connection: Connection, status: int, raw_headers: list, body: bytes
) -> Claim | None:
    """The key claimed with an answer given without writing anything, committed at once; or, if
    another request took the key first, its claim."""
    while True:
        pending.begin(connection)
        taken = pending.keep(connection, status, raw_headers, body)
        if taken is None:
            connection.commit()
            return None
        if taken.outcome is not Outcome.NEW:
            return taken


def rendered(model: BaseModel, status_code: int) -> Response:
    """The JSON FastAPI would send for ``model`` as the route's ``response_model``."""
    return Response(
        model.model_dump_json(by_alias=True), status_code=status_code, media_type="application/json"
    )


def kept_headers(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of an answer that its replays repeat."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in raw_headers
        if name.decode("latin-1").lower() in REPLAYED_HEADERS
    }


def answer_to_taken_key(request: Request, claim: Claim) -> Response:
    """A key used before: its first answer again, or why it cannot be given."""
    if claim.outcome is Outcome.MISMATCH:
        return problem_response(
            request,
            status=422,
            code="idempotency_key_reused",
            detail="This Idempotency-Key was used for a different request; use a new key.",
        )
    if claim.outcome is Outcome.UNREADABLE:
        return problem_response(
            request,
            status=409,
            code="conflict",
            detail=(
                "The first answer to this Idempotency-Key was kept under a server secret that "
                "has since changed and cannot be replayed; check the first request's effect, "
                "then use a new key."
            ),
        )
    return Replay(claim)


class Replay(Response):
    """The first answer, as it was sent: status, the headers that matter, body."""

    def __init__(self, claim: Claim) -> None:
        super().__init__((claim.body or "").encode(), status_code=claim.status or 200)
        length = [(name, value) for name, value in self.raw_headers if name == b"content-length"]
        self.raw_headers = [
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in (claim.headers or {}).items()),
            (b"idempotency-replayed", b"true"),
            *length,
        ]
