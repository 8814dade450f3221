"""Idempotent POSTs: the ``Idempotency-Key`` header, as an ASGI middleware.

A POST with a key the caller has used before gets the first answer again
(status, headers that matter and body, errors included) and runs nothing;
the same key with a different request is refused (422). Keys are scoped to
the API key that sent them (the write gate outside has authenticated it).
The claim, the request's write and its answer commit together, before the
client is answered (see app.services.idempotency). Routes marked ``@claims_its_key``
claim the key themselves, in the one worker-thread hop of their write (app.api.writes).
"""

import hashlib
import logging
import re
from collections.abc import Iterable

from anyio import to_thread
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import IDEMPOTENT_CONNECTION
from app.api.middleware.write_gate import ACTOR
from app.api.problems import database_unavailable, problem_response
from app.api.writes import (
    PENDING_CLAIM,
    PendingClaim,
    answer_to_taken_key,
    claim_with_answer,
    kept_headers,
    replayed,
)
from app.services.idempotency import IdempotencyStore, Outcome

HEADER = b"idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
log = logging.getLogger("rectrack.idempotency")


def _request_hash(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(scope["path"].encode())
    digest.update(b"?" + scope.get("query_string", b""))
    digest.update(body)
    return digest.hexdigest()


def _caller_scope(scope: Scope) -> str | None:
    actor = scope.get("state", {}).get(ACTOR)
    return f"api-key:{actor.api_key_id}" if actor is not None and actor.api_key_id is not None else None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, claimed_by_route: Iterable[str] = ()) -> None:
        self.app = app
        # the path templates of the POST routes that claim their keys themselves
        self._claimed_by_route = [compile_path(template)[0] for template in claimed_by_route]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"]) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        caller = _caller_scope(scope) if scope["type"] == "http" else None
        # Only authenticated writes get this far with a caller: the others are answered as they are.
        if key is None or scope["method"] != "POST" or caller is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        key_text = key.decode("latin-1")
        if not _VALID_KEY.match(key_text):
            response = problem_response(
                request,
                status=422,
                code="invalid_idempotency_key",
                detail="Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
            await response(scope, receive, send)
            return
        body = await request.body()  # the size limit outside this middleware applies
        store: IdempotencyStore = scope["app"].state.idempotency_store
        now = scope["app"].state.clock.now()
        request_hash = _request_hash(scope, body)
        if any(regex.match(scope["path"]) for regex in self._claimed_by_route):
            pending = PendingClaim(store, scope=caller, key=key_text, request_hash=request_hash, now=now)
            await self._run_claimed_by_route(request, pending, body, scope, send)
            return
        try:
            claim = await to_thread.run_sync(
                lambda: store.claim(scope=caller, key=key_text, request_hash=request_hash, now=now)
            )
        except OperationalError as exc:  # outside the app's handlers: answer as they would
            await database_unavailable(request, exc)(scope, receive, send)
            return
        if claim.outcome is not Outcome.NEW:
            await self._refuse_or_replay(request, claim, scope, receive, send)
            return
        scope.setdefault("state", {})[IDEMPOTENT_CONNECTION] = claim.connection
        await self._run_and_keep(request, claim, store, body, scope, send)

    async def _refuse_or_replay(self, request, claim, scope, receive, send) -> None:
        await answer_to_taken_key(request, claim)(scope, receive, send)

    async def _run_claimed_by_route(self, request, pending: PendingClaim, body: bytes, scope, send) -> None:
        """Run a route that claims its key itself. If the request was answered before the route
        took the claim, nothing was written: its key is claimed with that answer, in one hop."""
        scope.setdefault("state", {})[PENDING_CLAIM] = pending
        replay_body = replayed(body)
        started: dict = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if pending.taken:
                await send(message)  # the route's answer, committed with its write
            elif message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay_body, capture)
        if pending.taken:
            return
        status = started.get("status", 500)
        if status < 500:
            try:
                taken = await to_thread.run_sync(
                    lambda: _keep_refusal(pending, status, started.get("headers", []), b"".join(chunks))
                )
            except OperationalError as exc:
                await database_unavailable(request, exc)(scope, replay_body, send)
                return
            if taken is not None:  # the key was used first by another request
                await answer_to_taken_key(request, taken)(scope, replay_body, send)
                return
        await send({**started, "type": "http.response.start", "status": status})
        await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})

    async def _run_and_keep(self, request, claim, store: IdempotencyStore, body: bytes, scope, send) -> None:
        """Run the request, hold its answer back until the answer and the write have committed."""
        started: dict = {}
        chunks: list[bytes] = []
        replay_body = replayed(body)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await to_thread.run_sync(store.abandon, claim)
            raise
        status = started.get("status", 500)
        if status >= 500:  # nothing is kept: the key stays free for a retry
            await to_thread.run_sync(store.abandon, claim)
        else:
            text = b"".join(chunks).decode("utf-8", errors="replace")
            try:
                await to_thread.run_sync(
                    lambda: store.complete(
                        claim, status=status, headers=kept_headers(started.get("headers", [])), body=text
                    )
                )
            except OperationalError as exc:  # neither the write nor its answer committed
                log.warning("idempotent request %s not committed: database unavailable", claim.record_id)
                await database_unavailable(request, exc)(scope, replay_body, send)
                return
        await send({**started, "type": "http.response.start", "status": status})
        await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})


def _keep_refusal(pending: PendingClaim, status: int, raw_headers: list, body: bytes):
    with pending.store.connect() as connection:
        return claim_with_answer(pending, connection, status, raw_headers, body)
