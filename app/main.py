"""The application: ``uvicorn app.main:app`` serves it."""

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import Session

from app.api.conditional import NotModified, not_modified_handler
from app.api.middleware.answer_cache import AnswerStore, SharedAnswerMiddleware, kept_answers_of
from app.api.middleware.body_limit import BodySizeLimitMiddleware
from app.api.middleware.head import HeadAsGetMiddleware
from app.api.middleware.idempotency import IdempotencyMiddleware
from app.api.middleware.quick_write import QuickWriteMiddleware
from app.api.middleware.request_context import RequestContextMiddleware
from app.api.middleware.write_gate import WriteGateMiddleware
from app.api.problems import AllowedMethods, install_error_handlers
from app.api.responses import problems_as_problem_json
from app.api.routes import (
    access,
    decisions,
    evidence,
    exports,
    health,
    imports,
    organisations,
    progress,
    recommendations,
    reports,
    summaries,
    target_dates,
    webhooks,
)
from app.api.writes import claims_its_key_of, quick_write_of
from app.clock import Clock
from app.config import GIL_SWITCH_INTERVAL_S, YOUNG_OBJECTS_A_COLLECTION, Settings, get_settings
from app.db.change_counter import create_change_counter
from app.db.engine import create_db_engine
from app.db.loop_writes import create_loop_writes
from app.db.quick_reads import create_quick_reads
from app.db.sessions import writers
from app.logs import configure_logging, flush_logs
from app.pages import install as install_pages
from app.services import keys, webhook_network
from app.services.encryption import IDEMPOTENT_ANSWERS, cipher
from app.services.idempotency import IdempotencyStore
from app.services.key_cache import KeyCache
from app.services.summaries import PortfolioParts

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
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # per process: each uvicorn worker runs this
    # What the process holds once started (modules, the app, its routes and models) lives as
    # long as it does: kept out of the collector's passes, which otherwise walk all of it at
    # every full collection (docs/benchmarks.md, twentieth round).
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS_A_COLLECTION, *thresholds[1:])
    yield
    await app.state.change_counter.close()
    await app.state.quick_reads.close()
    app.state.engine.dispose()
    await app.state.loop_writes.dispose()
    flush_logs()  # the access lines of the last loop turn
    # As they were, for a process that goes on after the application (the tests' does).
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def _document_problems_as_problem_json(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = problems_as_problem_json(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="rectrack",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Operation ids are the routes' function names (read_report, update_report): short,
        # stable, and what the OpenAPI links between operations name.
        generate_unique_id_function=lambda route: route.name,
        # /docs and /redoc are served by app.pages, with their files from this server.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings)  # connects lazily, on first use
    app.state.writers_engine = writers(app.state.engine)
    app.state.loop_writes = create_loop_writes(app.state.engine, settings)
    app.state.key_usage_recorder = keys.usage_recorder(app.state.engine)
    app.state.clock = Clock(timezone=settings.timezone)
    app.state.change_counter = create_change_counter(app.state.engine)
    app.state.quick_reads = create_quick_reads(app.state.engine)
    app.state.answer_store = AnswerStore()
    app.state.portfolio_parts = PortfolioParts()  # the portfolio summary's, kept between writes
    app.state.key_cache = KeyCache()
    app.state.resolve_host = webhook_network.resolve  # webhook URLs' hosts, checked at registration
    app.state.open_session = lambda: Session(bind=app.state.engine)  # for middleware, outside routes
    app.state.idempotency_store = IdempotencyStore(
        app.state.writers_engine.connect, cipher(settings.key_secret, IDEMPOTENT_ANSWERS)
    )
    install_error_handlers(app)
    app.add_exception_handler(NotModified, not_modified_handler)
    routers = [
        (health.router, ""),
        (imports.router, API_PREFIX),  # first: /reports/import is not a {report_id}
        *(
            (module.router, API_PREFIX)
            for module in (
                organisations,
                reports,
                recommendations,
                progress,
                evidence,
                target_dates,
                decisions,
                summaries,
                access,
                exports,
                webhooks,
            )
        ),
    ]
    routes = [
        (prefix + route.path, route)
        for router, prefix in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    ]
    app.add_middleware(HeadAsGetMiddleware)  # innermost: routing sees GET, everything outside HEAD
    app.add_middleware(
        QuickWriteMiddleware,
        writes=[
            (method, path, quick)
            for path, route in routes
            if (quick := quick_write_of(route.endpoint)) is not None
            for method in route.methods
        ],
    )
    app.add_middleware(
        IdempotencyMiddleware,
        claimed_by_route=[
            path for path, route in routes if "POST" in route.methods and claims_its_key_of(route.endpoint)
        ],
    )
    app.add_middleware(WriteGateMiddleware, prefix=API_PREFIX)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits={"/api/v1/reports/import": max(settings.import_max_bytes, settings.max_body_bytes)},
    )
    app.add_middleware(
        SharedAnswerMiddleware,
        templates=[
            (path, kept) for path, route in routes if (kept := kept_answers_of(route.endpoint)) is not None
        ],
    )
    app.add_middleware(RequestContextMiddleware)
    _document_problems_as_problem_json(app)
    for router, prefix in routers:
        app.include_router(router, prefix=prefix)
    install_pages(app, api_prefix=API_PREFIX)
    app.state.allowed_methods = AllowedMethods((path, route.methods) for path, route in routes)
    return app


app = create_app()
