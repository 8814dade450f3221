"""Lists and summaries answered from memory, before routing.

Dashboards poll the same lists and summaries, and until the next write the answer
is the same for every reader. Routes marked ``@shared_answer`` tag their answers
with the change counter (``app.api.conditional.collection_etag``); this middleware
keeps each answer the route gave, keyed by that tag, and answers the next request
with the same key itself: a 304 when the client already holds it, else the stored
body and headers. A route's first answer for a key still goes through routing,
validation and the route, so a key is only ever answered from memory once the route
has found the request valid and answered it.

Per request this costs one counter read on the event loop and a key-cache lookup,
against a dependency graph and a worker thread for the route. Anything it cannot
settle from memory (an API key not in the key cache or due to have its use
recorded, a role that may not read, an invalid ``as_of``) goes to the route, which
answers as it would have anyway.
"""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import actor_of, admit, as_of_in_query, bearer_token, key_in_memory
from app.api.etags import holds_tag
from app.api.middleware.request_context import ROUTE_TEMPLATE
from app.api.problems import app_error_response
from app.domain.access import ANONYMOUS, READ_ROLES
from app.errors import AppError, DatabaseUnavailable

CACHE_CONTROL = "private, no-cache"
MAX_STORED_BYTES = 32 * 1024 * 1024

F = TypeVar("F", bound=Callable)


def shared_answer(endpoint: F) -> F:
    """Marks a GET route any reader may call whose answer depends only on the URL, the
    date asked for and the state of the database (its ETag is ``collection_etag``)."""
    endpoint.shared_answer = True  # type: ignore[attr-defined]
    return endpoint


@dataclass(frozen=True)
class AnswerKey:
    """What the database looked like (the change counter) and what was asked."""

    counter: int
    digest: str
    day: date

    @property
    def etag(self) -> str:
        return f'W/"{self.counter}-{self.digest}"'


def answer_key(counter: int, path: str, query: Iterable[tuple[str, str]], day: date) -> AnswerKey:
    """The same key for the same question, whatever the order of the query parameters."""
    canonical = "&".join(sorted(f"{k}={v}" for k, v in query))
    digest = hashlib.sha256(f"{path}?{canonical}|{day}".encode()).hexdigest()[:16]
    return AnswerKey(counter, digest, day)


@dataclass(frozen=True)
class StoredAnswer:
    """A route's answer as sent. ``body`` is None when the route answered 304: the key is
    known to be valid, but the body was never computed."""

    headers: list[tuple[bytes, bytes]]
    body: bytes | None

    @property
    def size(self) -> int:
        return len(self.body or b"") + sum(len(k) + len(v) for k, v in self.headers)


class AnswerStore:
    """Answers of the newest state of the database only: when the counter moves on, the
    older answers can never be asked for again and are dropped; within one state, the
    least recently used go first past ``max_bytes``. Used on the event loop only."""

    def __init__(self, max_bytes: int = MAX_STORED_BYTES, max_answer_bytes: int | None = None) -> None:
        self._max_bytes = max_bytes
        self._max_answer_bytes = max_answer_bytes or max_bytes // 8
        self._bytes = 0
        self._counter = 0
        self._entries: OrderedDict[tuple, StoredAnswer] = OrderedDict()

    def get(self, key: AnswerKey, origin: tuple) -> StoredAnswer | None:
        found = self._entries.get((key, origin))
        if found is not None:
            self._entries.move_to_end((key, origin))
        return found

    def put(self, key: AnswerKey, origin: tuple, answer: StoredAnswer) -> None:
        if key.counter < self._counter or answer.size > self._max_answer_bytes:
            return
        if key.counter > self._counter:
            self._counter = key.counter
            self._entries.clear()
            self._bytes = 0
        replaced = self._entries.pop((key, origin), None)
        if replaced is not None:
            self._bytes -= replaced.size
        self._entries[(key, origin)] = answer
        self._bytes += answer.size
        while self._bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)


class SharedAnswerMiddleware:
    """Keeps answers in ``app.state.answer_store``.

    After a write, every poller's key is new at once. The first request for a key computes the
    answer; readers asking for the same key meanwhile wait for it rather than compute it too
    (16 concurrent portfolio summaries at scale L took seconds each, and the loop with them)."""

    def __init__(self, app: ASGIApp, templates: Iterable[str]) -> None:
        self.app = app
        self._routes = [(compile_path(template)[0], template) for template in templates]
        self._computing: dict[tuple, asyncio.Event] = {}

    def _template(self, path: str) -> str | None:
        for regex, template in self._routes:
            if regex.match(path):
                return template
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        template = (
            self._template(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        )
        if template is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = request.app.state
        as_of = as_of_in_query(state.clock, state.settings, request.query_params.get("as_of"))
        if as_of is None:
            await self.app(scope, receive, send)  # the route explains what is wrong
            return
        day = as_of.day
        may_read = _may_read(request, state)
        try:
            counter = await state.change_counter.read()
        except DatabaseUnavailable as exc:
            if may_read:
                await app_error_response(request, exc)(scope, receive, send)
            else:
                await self.app(scope, receive, send)  # 401 before 503, as the route would
            return
        key = answer_key(counter, request.url.path, request.query_params.multi_items(), day)
        scope.setdefault("state", {})["answer_key"] = key  # the route uses this read of the counter
        origin = answer_origin(request)
        store: AnswerStore = state.answer_store
        stored = store.get(key, origin) if may_read else None
        computing = self._computing.get((key, origin)) if may_read and stored is None else None
        if computing is not None:
            await computing.wait()
            stored = store.get(key, origin)  # None if that request got no answer worth keeping
        if stored is not None:
            if holds_tag(request.headers.get("if-none-match"), key.etag):
                scope[ROUTE_TEMPLATE] = template
                await _send(
                    send, 304, [(b"etag", key.etag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
                )
                return
            if stored.body is not None:
                scope[ROUTE_TEMPLATE] = template
                await _send(send, 200, stored.headers, stored.body)
                return
        if (key, origin) in self._computing:
            await self.app(scope, receive, _keeping(send, store, key, origin))
            return
        done = self._computing[(key, origin)] = asyncio.Event()
        try:
            await self.app(scope, receive, _keeping(send, store, key, origin))
        finally:
            del self._computing[(key, origin)]
            done.set()


def answer_origin(request: Request) -> tuple[str, str, str]:
    """Answers are kept apart by the scheme, host and root path the client used: Link headers
    name them."""
    return (request.url.scheme, request.url.netloc, request.scope.get("root_path", ""))


def _keeping(send: Send, store: AnswerStore, key: AnswerKey, origin: tuple) -> Send:
    """``send``, keeping the route's answer if it is the one for ``key``."""
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def keeping_send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body" and status in (200, 304):
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False) and Headers(raw=headers).get("etag") == key.etag:
                body = b"".join(chunks) if status == 200 else None
                if body is not None or store.get(key, origin) is None:
                    store.put(key, origin, StoredAnswer(headers, body))
        await send(message)

    return keeping_send


def _may_read(request: Request, state) -> bool:
    """True when the caller may read, as far as memory tells: a key in the key cache with a
    reading role whose use needs no recording now, or no key while anonymous reads are on."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        actor = ANONYMOUS
    else:
        token = bearer_token(authorization)
        cached = key_in_memory(state, token) if token else None
        if cached is None or state.key_cache.touch_due(cached, state.clock.now()):
            return False
        actor = actor_of(cached, request_id=None)
    try:
        admit(state.settings, actor, READ_ROLES, read=True)
    except AppError:
        return False
    return True


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
