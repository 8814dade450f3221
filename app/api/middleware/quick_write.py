"""Writes answered before routing, when nothing about the request needs more than the route's
own work.

A progress update is the write people make most. In a profile of the real server under 16
writers, FastAPI's routing (matching the path among every route) and its dependency solving
took about a fifth of the API's busy CPU; skipping them measured as a small gain, within the
benchmark's noise on its own (docs/benchmarks.md, tenth round). Routes marked
``@quick_write`` give a function that answers the request as the route would, or None when it
cannot tell from the request alone (a path parameter or body that does not validate, a role
the route does not admit): those requests go on to the route, with the body read here
replayed, and get the route's own answer, errors included.

This middleware is the innermost: the write gate has authenticated the caller and the
idempotency middleware has left its claim (``PendingClaim``) for the write's own transaction,
exactly as for the route.
"""

import inspect
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import WRITE_ACTOR
from app.api.middleware.request_context import ROUTE_TEMPLATE
from app.api.writes import QuickWrite, replayed


class QuickWriteMiddleware:
    def __init__(self, app: ASGIApp, writes: Iterable[tuple[str, str, QuickWrite]]) -> None:
        self.app = app
        self._writes = [
            (method, compile_path(template)[0], template, quick) for method, template, quick in writes
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        actor = scope.get("state", {}).get(WRITE_ACTOR) if scope["type"] == "http" else None
        if actor is not None:
            for method, regex, template, quick in self._writes:
                match = regex.match(scope["path"]) if method == scope["method"] else None
                if match is None:
                    continue
                request = Request(scope, receive)
                body = await request.body()  # within the size limit outside
                try:
                    response = await quick(request, match.groupdict(), body, actor)
                except Exception as exc:
                    response = await _handled(request, exc)
                if response is not None:
                    scope[ROUTE_TEMPLATE] = template
                    await response(scope, receive, send)
                    return
                receive = replayed(body)  # for the route, which reads it again
                break
        await self.app(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The answer the application's exception handlers give after routing (an ``AppError``'s
    problem, a 503 for a database that is down); anything only the last-resort handler
    answers is raised to it, as it would be from the route."""
    for kind in type(exc).__mro__:
        if kind is Exception:
            break
        handler = request.app.exception_handlers.get(kind)
        if handler is not None:
            answer = handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
    raise exc
