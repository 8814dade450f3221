"""Lists and summaries answered from memory, before routing.

Dashboards poll the same lists and summaries, and until the next write that touches
what they read the answer is the same for every reader. Routes marked ``@shared_answer``
declare the scopes their answers read (``app.api.answer_scopes``) and tag their answers
with the newest version among them (``app.api.conditional.collection_etag``); this
middleware keeps each answer the route gave, keyed by that tag, and answers the next
request with the same key itself: a 304 when the client already holds it, else the
stored body and headers. A write on one recommendation moves the versions of its own
scopes only, so the answers about other reports, organisations and recommendations
stay. A route's first answer for a key still goes through routing, validation and the
route, so a key is only ever answered from memory once the route has found the request
valid and answered it.

A list across reports as of a current date reads, besides the figures, the recommendations it
lists (``app.domain.scopes.LISTED``), known only once it is computed. The route reads the
change counter before computing it and its scopes' versions after (``listed_answer``): it is
tagged, and kept with its scopes, only when none moved meanwhile. The next request for it
reads those scopes' versions: while their tag holds, the kept answer is the current one.

Per request this costs one read of the scope versions on the event loop and a key-cache
lookup, against a dependency graph and a worker thread for the route. Anything it cannot
settle from memory (an API key not in the key cache or due to have its use
recorded, a role that may not read, an invalid ``as_of``) goes to the route, which
answers as it would have anyway.
"""

import asyncio
import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.answer_scopes import AnswerScopes, portfolio
from app.api.deps import actor_of, admits, as_of_in_query, bearer_token, key_in_memory
from app.api.etags import holds_tag
from app.api.middleware.request_context import ROUTE_TEMPLATE
from app.api.problems import app_error_response
from app.domain.access import ANONYMOUS, READ_ROLES
from app.domain.scopes import LISTED
from app.errors import AppError, DatabaseUnavailable
from app.services.as_of import AsOf

CACHE_CONTROL = "private, no-cache"
MAX_STORED_BYTES = 32 * 1024 * 1024

F = TypeVar("F", bound=Callable)
# The route's answer to a caller who may read, without routing (path parameters, as_of), or
# None when only the route can tell; an AppError is answered as the route would answer it.
QuickAnswer = Callable[[Request, dict[str, str], AsOf], Awaitable[Response | None]]


@dataclass(frozen=True)
class KeptAnswers:
    """How a route's answers are kept: ``scopes`` are what a write must touch to change them;
    ``tags_itself`` when the route's ETag is its own (a resource's version), not the key's;
    ``quick`` answers in its place, when it can, what is not kept yet."""

    scopes: AnswerScopes
    tags_itself: bool = False
    quick: QuickAnswer | None = None


def shared_answer(
    endpoint: F | None = None, *, scopes: AnswerScopes = portfolio, quick: QuickAnswer | None = None
):
    """Marks a GET route any reader may call whose answer depends only on the URL, the
    date asked for and the state of the database (its ETag is ``collection_etag``), and of
    the database only on ``scopes`` (what a write must touch to change the answer).
    ``quick`` gives the route's answer without routing when it can, tagged with the request's
    ``answer_key``."""

    def mark(endpoint: F) -> F:
        endpoint.kept_answers = KeptAnswers(scopes, quick=quick)  # type: ignore[attr-defined]
        return endpoint

    return mark(endpoint) if endpoint is not None else mark


def kept_answer(*, scopes: AnswerScopes, quick: QuickAnswer | None = None):
    """Marks a GET route any reader may call for one resource, whose answer depends only on the
    URL, the date asked for and ``scopes``, and which tags its answer itself (a strong ETag from
    the resource's version): the answer and its ETag are kept until a write touches ``scopes``.
    ``quick`` gives the route's answer without routing when it can (FastAPI's routing and
    dependencies cost more than a one-statement read)."""

    def mark(endpoint: F) -> F:
        endpoint.kept_answers = KeptAnswers(scopes, tags_itself=True, quick=quick)  # type: ignore[attr-defined]
        return endpoint

    return mark


def kept_answers_of(endpoint: Callable) -> KeptAnswers | None:
    """How a ``@shared_answer`` or ``@kept_answer`` route's answers are kept, else None."""
    return getattr(endpoint, "kept_answers", None)


def scopes_read_by(endpoint: Callable) -> AnswerScopes | None:
    """The scopes a ``@shared_answer`` or ``@kept_answer`` route declared, else None."""
    kept = kept_answers_of(endpoint)
    return kept.scopes if kept else None


@dataclass(frozen=True)
class AnswerKey:
    """What the database looked like (the version of the scopes the answer reads) and what
    was asked."""

    version: int
    digest: str
    day: date

    @property
    def etag(self) -> str:
        return f'W/"{self.version}-{self.digest}"'


def answer_key(
    version: int, path: str, query: Iterable[tuple[str, str]], day: date, *, listed: bool = False
) -> AnswerKey:
    """The same key for the same question, whatever the order of the query parameters. A listed
    answer's (tagged by what it lists) is apart from any other's, and so is its ETag."""
    canonical = "&".join(sorted(f"{k}={v}" for k, v in query))
    question = f"{path}?{canonical}|{day}" + ("|listed" if listed else "")
    digest = hashlib.sha256(question.encode()).hexdigest()[:16]
    return AnswerKey(version, digest, day)


@dataclass(frozen=True)
class StoredAnswer:
    """A route's answer as sent. ``body`` is None when the route answered 304: the key is
    known to be valid, but the body was never computed. A listed answer keeps the ``scopes`` it
    reads."""

    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    scopes: frozenset[str] = frozenset()

    @property
    def etag(self) -> str | None:
        return Headers(raw=self.headers).get("etag")

    @property
    def size(self) -> int:
        return (
            len(self.body or b"")
            + sum(len(k) + len(v) for k, v in self.headers)
            + sum(len(s) for s in self.scopes)
        )


class AnswerStore:
    """The answer to each question for the newest version of what it reads only: when that
    version moves on, the older answer can never be asked for again and is replaced; past
    ``max_bytes`` the least recently used answers go first. Used on the event loop only."""

    def __init__(self, max_bytes: int = MAX_STORED_BYTES, max_answer_bytes: int | None = None) -> None:
        self._max_bytes = max_bytes
        self._max_answer_bytes = max_answer_bytes or max_bytes // 8
        self._bytes = 0
        self._entries: OrderedDict[tuple, tuple[int, StoredAnswer]] = OrderedDict()

    def get(self, key: AnswerKey, origin: tuple) -> StoredAnswer | None:
        found = self._entries.get((key.digest, origin))
        if found is None or found[0] != key.version:
            return None
        self._entries.move_to_end((key.digest, origin))
        return found[1]

    def latest(self, key: AnswerKey, origin: tuple) -> tuple[AnswerKey, StoredAnswer] | None:
        """The answer held for ``key``'s question, whatever its version, and its own key."""
        found = self._entries.get((key.digest, origin))
        if found is None:
            return None
        self._entries.move_to_end((key.digest, origin))
        return AnswerKey(found[0], key.digest, key.day), found[1]

    def put(self, key: AnswerKey, origin: tuple, answer: StoredAnswer) -> None:
        if answer.size > self._max_answer_bytes:
            return
        held = self._entries.get((key.digest, origin))
        if held is not None:
            if held[0] > key.version:
                return  # computed before a write, kept after it: refused
            del self._entries[(key.digest, origin)]
            self._bytes -= held[1].size
        self._entries[(key.digest, origin)] = (key.version, answer)
        self._bytes += answer.size
        while self._bytes > self._max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(eq=False)
class _Computation:
    """A route computing the answer to a question. ``ticket`` orders it among the requests'
    arrivals (``SharedAnswerMiddleware._tickets``): it reads the database after every request
    with a smaller ticket arrived. ``answer`` is the 200 it sent, tagged or not."""

    ticket: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    answer: StoredAnswer | None = None


class SharedAnswerMiddleware:
    """Keeps answers in ``app.state.answer_store``.

    After a write, every poller's key is new at once. The first request for a question computes
    the answer; readers asking the same question meanwhile wait for it rather than compute it
    too (16 concurrent portfolio summaries at scale L took seconds each, and the loop with them).
    A reader that arrived before the computation began takes its answer, whatever was written
    while it ran: it read every write answered before the reader asked. One that arrived after
    takes it only if it is the answer for the state of the database the reader found, else
    waits for the next computation. So while writes land faster than an answer computes, one
    computation at a time serves every reader, and none waits for more than two."""

    def __init__(self, app: ASGIApp, templates: Iterable[tuple[str, KeptAnswers]]) -> None:
        self.app = app
        self._routes = [(compile_path(template)[0], template, kept) for template, kept in templates]
        self._computing: dict[tuple, _Computation] = {}  # by (question digest, origin)
        self._tickets = itertools.count()

    def _route(self, path: str) -> tuple[str, KeptAnswers, dict[str, str]] | None:
        for regex, template, kept in self._routes:
            match = regex.match(path)
            if match:
                return template, kept, match.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        template, kept, path_params = route
        request = Request(scope)
        state = request.app.state
        as_of = as_of_in_query(state.clock, state.settings, request.query_params.get("as_of"))
        if as_of is None:
            await self.app(scope, receive, send)  # the route explains what is wrong
            return
        day = as_of.day
        may_read = _may_read(request, state)
        wanted = kept.scopes(path_params, request.query_params, as_of.is_current)
        origin = answer_origin(request)
        store: AnswerStore = state.answer_store
        request_state = scope.setdefault("state", {})
        arrived = next(self._tickets)
        listed = LISTED in wanted
        question = answer_key(0, request.url.path, request.query_params.multi_items(), day, listed=listed)
        together = (question.digest, origin)
        try:
            if listed:
                key, stored = await self._listed(request, store, question, origin, arrived, may_read=may_read)
                request_state["listed"] = wanted  # the route tags what it computes (listed_answer)
            else:
                key = AnswerKey(await state.change_counter.read(wanted), question.digest, day)
                stored = store.get(key, origin) if may_read else None
                if stored is None and may_read:

                    async def current() -> tuple[AnswerKey, StoredAnswer] | None:
                        held = store.get(key, origin)
                        return None if held is None else (key, held)

                    computed = await self._computed_since(together, arrived, current, key)
                    stored = None if computed is None else computed[1]
        except DatabaseUnavailable as exc:
            if may_read:
                await app_error_response(request, exc)(scope, receive, send)
            else:
                await self.app(scope, receive, send)  # 401 before 503, as the route would
            return
        request_state["answer_key"] = key  # the route uses this read of the versions
        if stored is not None:
            etag = stored.etag  # None: a listed answer no tag names (a write landed while it was computed)
            if etag is not None and holds_tag(request.headers.get("if-none-match"), etag):
                scope[ROUTE_TEMPLATE] = template
                await _send(send, 304, [(b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL.encode())])
                return
            if stored.body is not None:
                scope[ROUTE_TEMPLATE] = template
                await _send(send, 200, stored.headers, stored.body)
                return
        # Its ticket before anything is read for the answer; it is registered (below) only if no
        # other request registered one meanwhile, with no await between the check and the entry.
        computation = _Computation(next(self._tickets))
        keeping = _keeping(
            send, store, key, origin, any_etag=kept.tags_itself, state=request_state, computation=computation
        )
        answer = self.app
        if may_read and kept.quick is not None:
            try:
                answer = await kept.quick(request, path_params, as_of) or self.app
            except AppError as exc:
                answer = app_error_response(request, exc)
            if answer is not self.app:
                scope[ROUTE_TEMPLATE] = template
        if together in self._computing:  # this one waited for two computations, or another began meanwhile
            await answer(scope, receive, keeping)
            return
        self._computing[together] = computation
        try:
            await answer(scope, receive, keeping)
        finally:
            del self._computing[together]
            computation.done.set()

    async def _computed_since(
        self,
        together: tuple,
        arrived: int,
        current: Callable[[], Awaitable[tuple[AnswerKey, StoredAnswer] | None]],
        key: AnswerKey,
    ) -> tuple[AnswerKey, StoredAnswer] | None:
        """From the computations of the question under way, waiting for at most two: the answer
        of one that began after the reader ``arrived`` (with ``key``), or ``current()`` once one
        has ended; None when there is neither, and the reader computes it."""
        for _ in range(2):
            computing = self._computing.get(together)
            if computing is None:
                return None
            await computing.done.wait()
            if computing.ticket > arrived and computing.answer is not None:
                return key, computing.answer
            held = await current()
            if held is not None:
                return held
        return None

    async def _listed(
        self,
        request: Request,
        store: AnswerStore,
        question: AnswerKey,
        origin: tuple,
        arrived: int,
        *,
        may_read: bool,
    ) -> tuple[AnswerKey, StoredAnswer | None]:
        """A listed answer: the one held, under its own key, while none of the scopes it read has
        moved, or one computed since the reader arrived (``_computed_since``); else (to compute
        it) the question's key with the change counter as its version."""
        counter = request.app.state.change_counter
        if not may_read:
            return AnswerKey(await counter.read(), question.digest, question.day), None
        together = (question.digest, origin)

        async def current() -> tuple[AnswerKey, StoredAnswer] | None:
            return await _current(request, store, question, origin)

        held = await current() or await self._computed_since(together, arrived, current, question)
        if held is not None:
            return held
        version = await counter.read()
        if together in self._computing:  # one began while the counter was read
            held = await self._computed_since(together, arrived, current, question)
        return held or (AnswerKey(version, question.digest, question.day), None)


async def _current(
    request: Request, store: AnswerStore, question: AnswerKey, origin: tuple
) -> tuple[AnswerKey, StoredAnswer] | None:
    """The listed answer held for the question, with its key, if none of its scopes has moved."""
    held = store.latest(question, origin)
    if held is None:
        return None
    key, stored = held
    return held if await request.app.state.change_counter.read(stored.scopes) == key.version else None


def listed_answer(state, read: frozenset[str], tag: int) -> None:
    """The route's word that its listed answer reads ``read`` and is tagged ``tag``."""
    state.listed_answer = (read, tag)


def answer_origin(request: Request) -> tuple[str, str, str]:
    """Answers are kept apart by the scheme, host and root path the client used: Link headers
    name them."""
    return (request.url.scheme, request.url.netloc, request.scope.get("root_path", ""))


def _keeping(
    send: Send,
    store: AnswerStore,
    key: AnswerKey,
    origin: tuple,
    *,
    any_etag: bool,
    state: dict,
    computation: _Computation,
) -> Send:
    """``send``, keeping the route's answer if it is the one for ``key``: tagged with the key's
    ETag, or with any ETag when the route tags its answers itself (``any_etag``). A listed
    answer is kept under the key of its own tag, with the scopes it read (``listed_answer``).
    A 200, kept or not, is the ``computation``'s answer for the readers waiting for it.

    The route read the database after the versions in ``key`` were read, so what it answered is
    at least as new as they say: never an older answer under a newer key."""
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def keeping_send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body" and status in (200, 304):
            chunks.append(message.get("body", b""))
            etag = Headers(raw=headers).get("etag")
            kept_key, read = key, frozenset()
            if "listed" in state:
                listed = state.get("listed_answer")
                if listed is None:
                    kept_key = None  # computed while a write touched what it lists: not kept
                else:
                    read, tag = listed
                    kept_key = AnswerKey(tag, key.digest, key.day)
            done = not message.get("more_body", False)
            if done and status == 200:
                computation.answer = StoredAnswer(headers, b"".join(chunks))
            if done and kept_key is not None and etag is not None and (any_etag or etag == kept_key.etag):
                body = b"".join(chunks) if status == 200 else None
                if body is not None or store.get(kept_key, origin) is None:
                    answer = StoredAnswer(headers, body, scopes=read)
                    store.put(kept_key, origin, answer)
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
    return admits(state.settings, actor, READ_ROLES, read=True)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
