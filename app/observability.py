"""Request ids, JSON access logs and Prometheus metrics, as one ASGI middleware."""

import itertools
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from fastapi import HTTPException
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Request ids: random per process, then counted. As unique as a uuid4 each, without asking
# the kernel for random bytes on every request.
_PROCESS_ID = uuid.uuid4().hex[:16]
_request_numbers = itertools.count(1)


def new_request_id() -> str:
    return f"{_PROCESS_ID}{next(_request_numbers):016x}"


REQUESTS = Counter(
    "rectrack_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "rectrack_http_request_duration_seconds",
    "Time to answer HTTP requests, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_log = logging.getLogger("rectrack.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy for log shippers, no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


ROUTE_TEMPLATE = "rectrack.route_template"  # scope key for a template matched by our own middleware


def _route_template(scope: Scope) -> str:
    """The matched path template, with its router's prefix ("/api/v1/reports/{report_id}")."""
    # FastAPI keeps the route of an included router as declared there ("/reports/{report_id}");
    # the template it matched, prefix included, is in its routing context.
    matched = (scope.get("fastapi") or {}).get("effective_route_context")
    route = scope.get("route")
    return (
        scope.get(ROUTE_TEMPLATE)  # answered by SharedAnswerMiddleware, before routing
        or getattr(matched, "path_format", None)
        or getattr(route, "path_format", None)
        or getattr(route, "path", None)
        or "unmatched"
    )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status_code)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            access_log.info(
                "%s %s %s",
                method,
                scope["path"],
                status_code,
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read; FastAPI lets HTTPExceptions through as they are."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is larger than {max_bytes} bytes.")


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes``: at once when declared, else as they stream in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            request = Request(scope)
            response = problem_response(
                request, status=413, detail=f"The request body is larger than {self.max_bytes} bytes."
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Raised while a middleware (not a route) read the body.
            if started:
                raise
            response = problem_response(
                Request(scope), status=413, detail=BodyTooLarge(self.max_bytes).detail
            )
            await response(scope, receive, send)
