"""The application: ``uvicorn app.main:app`` serves it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.conditional import NotModified, not_modified_response
from app.api.routes import (
    access,
    exports,
    health,
    imports,
    organisations,
    recommendations,
    reports,
    summaries,
)
from app.clock import Clock
from app.config import Settings, get_settings
from app.db import create_db_engine, session_scope
from app.errors import install_error_handlers
from app.idempotency import IdempotencyMiddleware
from app.observability import BodySizeLimitMiddleware, RequestContextMiddleware, configure_logging
from app.services.cache import CounterCache
from app.services.idempotency import IdempotencyStore

API_PREFIX = "/api/v1"

DESCRIPTION = """
rectrack tracks the recommendations of regulators' reports (CQC reviews,
Ofsted inspections, serious case reviews, audits) from publication to closure:
who owns each one, what progress each owner has reported with what evidence,
and what is overdue against the action-plan deadlines, for any date.

Every error is an RFC 9457 `application/problem+json` document.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="rectrack",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings)  # connects lazily, on first use
    app.state.clock = Clock(timezone=settings.timezone)
    app.state.summary_cache = CounterCache()
    app.state.idempotency_store = IdempotencyStore(lambda: session_scope(app.state.engine))
    install_error_handlers(app)
    app.add_exception_handler(NotModified, lambda _request, exc: not_modified_response(exc))
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(imports.router, prefix=API_PREFIX)  # first: /reports/import is not a {report_id}
    for module in (organisations, reports, recommendations, summaries, access, exports):
        app.include_router(module.router, prefix=API_PREFIX)
    return app


app = create_app()
