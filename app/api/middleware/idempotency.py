"""Idempotent POSTs: the ``Idempotency-Key`` header, as an ASGI middleware.

A POST with a key the caller has used before gets the first answer again
(status, headers that matter and body, errors included) and runs nothing;
the same key with a different request is refused (422); a retry while the
first is still running is told to wait (409). Keys are scoped to the
caller's credentials.
"""

import hashlib
import logging
import re

from anyio import to_thread
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import database_unavailable, problem_response
from app.services.idempotency import IdempotencyStore, Outcome

HEADER = b"idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("content-type", "location", "etag")
log = logging.getLogger("rectrack.idempotency")


def _request_hash(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(scope["path"].encode())
    digest.update(b"?" + scope.get("query_string", b""))
    digest.update(body)
    return digest.hexdigest()


def _caller_scope(scope: Scope) -> str:
    authorization = dict(scope["headers"]).get(b"authorization", b"anonymous")
    return hashlib.sha256(authorization).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"]) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        # Without credentials the answer is a 401 whatever the key: nothing to claim or keep.
        if key is None or scope["method"] != "POST" or b"authorization" not in headers:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        key_text = key.decode("latin-1")
        if not _VALID_KEY.match(key_text):
            response = problem_response(
                request, status=422, detail="Idempotency-Key must be 1 to 255 visible ASCII characters."
            )
            await response(scope, receive, send)
            return
        body = await request.body()  # the size limit outside this middleware applies
        store: IdempotencyStore = scope["app"].state.idempotency_store
        now = scope["app"].state.clock.now()
        try:
            claim = await to_thread.run_sync(
                lambda: store.claim(
                    scope=_caller_scope(scope), key=key_text, request_hash=_request_hash(scope, body), now=now
                )
            )
        except OperationalError as exc:  # outside the app's handlers: answer as they would
            await database_unavailable(request, exc)(scope, receive, send)
            return
        if claim.outcome is not Outcome.NEW:
            await self._refuse_or_replay(request, claim, scope, receive, send)
            return
        scope.setdefault("state", {})["idempotency_record_id"] = claim.record_id
        await self._run_and_keep(claim.record_id, store, body, scope, send)

    async def _refuse_or_replay(self, request, claim, scope, receive, send) -> None:
        if claim.outcome is Outcome.MISMATCH:
            response = problem_response(
                request,
                status=422,
                code="idempotency_key_reused",
                detail="This Idempotency-Key was used for a different request; use a new key.",
            )
        elif claim.outcome is Outcome.IN_PROGRESS:
            response = problem_response(
                request,
                status=409,
                code="request_in_progress",
                detail="A request with this Idempotency-Key is still being handled; retry shortly.",
                headers={"Retry-After": "1"},
            )
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": claim.status,
                    "headers": [
                        *((k.encode(), v.encode()) for k, v in (claim.headers or {}).items()),
                        (b"idempotency-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": (claim.body or "").encode()})
            return
        await response(scope, receive, send)

    async def _run_and_keep(self, record_id: int, store: IdempotencyStore, body: bytes, scope, send) -> None:
        started: dict = {}
        chunks: list[bytes] = []
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            status = started.get("status", 500)
            try:
                # A failure, or credentials refused (nothing was written, and the key was not
                # really the caller's to use): the key stays free for the real request.
                if status >= 500 or status == 401:
                    await to_thread.run_sync(store.abandon, record_id)
                else:
                    headers = {
                        k.decode("latin-1"): v.decode("latin-1")
                        for k, v in started.get("headers", [])
                        if k.decode("latin-1").lower() in _REPLAYED_HEADERS
                    }
                    text = b"".join(chunks).decode("utf-8", errors="replace")
                    await to_thread.run_sync(
                        lambda: store.complete(record_id, status=status, headers=headers, body=text)
                    )
            except OperationalError:
                # The client has its answer; a retry with this key is told to wait (409) until
                # the record expires, rather than running the request twice.
                log.warning("answer to idempotent request %s not kept: database unavailable", record_id)
