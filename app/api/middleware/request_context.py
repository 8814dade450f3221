"""Request ids, access logs and Prometheus metrics, as one ASGI middleware."""

import itertools
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs

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

# The labelled series, looked up once each: prometheus_client takes a lock and builds the
# label tuple on every labels() call. Bounded by routes x methods x statuses.
_requests: dict[tuple[str, str, int], Counter] = {}
_latencies: dict[tuple[str, str], Histogram] = {}


def _count(method: str, route: str, status: int, elapsed: float) -> None:
    requests = _requests.get((method, route, status))
    if requests is None:
        requests = _requests[method, route, status] = REQUESTS.labels(method, route, str(status))
    latency = _latencies.get((method, route))
    if latency is None:
        latency = _latencies[method, route] = LATENCY.labels(method, route)
    requests.inc()
    latency.observe(elapsed)


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
            _count(method, route, status_code, elapsed)
            logs.access(
                timestamp=time.time(),
                request_id=request_id,  # plain: matched _VALID_REQUEST_ID or made here
                method=method,
                path=scope["path"],
                route=route,
                status=status_code,
                duration_ms=round(elapsed * 1000, 2),
            )
