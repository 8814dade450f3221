"""Writes are authenticated before anything else runs: before the body is parsed, before an
Idempotency-Key is claimed, before any row is written or locked.

A write with no key, or with a key that is unknown or revoked, is 401; a key whose role
writes nothing (a viewer) is 403. Each route still checks its own roles; this gate only
makes sure that a request no route would accept costs no more than a key lookup, and
tells the idempotency middleware whose key it is. The caller is identified and admitted
by the same functions the routes use (app.api.deps).
"""

from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import WRITE_ACTOR, admit, bearer_token, identify
from app.api.problems import app_error_response, database_unavailable
from app.domain.access import ANONYMOUS, WRITE_ROLES, Actor
from app.errors import AppError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACTOR = WRITE_ACTOR  # the scope's state: the authenticated caller of a write


class WriteGateMiddleware:
    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            scope.setdefault("state", {})[ACTOR] = await self._writer(request)
        except AppError as refused:
            await app_error_response(request, refused)(scope, receive, send)
            return
        except OperationalError as exc:  # outside the app's handlers: answer as they would
            await database_unavailable(request, exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _writer(self, request: Request) -> Actor:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            actor = ANONYMOUS
        else:
            credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
            actor = await identify(request, None, credentials)
        admit(request.app.state.settings, actor, WRITE_ROLES)
        return actor
