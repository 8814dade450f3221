import hmac
from contextlib import suppress

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine

from app.api import webhook_metrics
from app.api.deps import ClockDep, get_engine
from app.api.problems import problem_response
from app.api.responses import problems
from app.db.migrations import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers (no dependencies checked)")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and its schema is at the latest migration",
    responses=problems(),
)
def readyz(request: Request, engine: Engine = Depends(get_engine)):
    try:
        current = current_revision(engine)
    except Exception:
        return problem_response(
            request, status=503, detail="The database is unreachable.", code="database_unavailable"
        )
    head = head_revision()
    if current != head:
        return problem_response(
            request,
            status=503,
            detail=f"The schema is at {current or 'nothing'}, not {head}: run 'rectrack migrate'.",
            code="migrations_pending",
        )
    return {"status": "ready", "database": engine.dialect.name, "revision": current}


@router.get(
    "/metrics",
    summary="Prometheus metrics (with RECTRACK_METRICS_TOKEN set: 'Authorization: Bearer <token>')",
    response_class=Response,
    responses=problems(401),
)
def metrics(request: Request, clock: ClockDep, engine: Engine = Depends(get_engine)) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), token.get_secret_value().encode()
        ):
            return problem_response(
                request,
                status=401,
                detail="Send the metrics token: 'Authorization: Bearer <RECTRACK_METRICS_TOKEN>'.",
                code="metrics_token_required",
                headers={"WWW-Authenticate": 'Bearer realm="rectrack-metrics"'},
            )
    # Without the database, the process's own metrics are still worth answering with.
    with suppress(Exception):
        webhook_metrics.refresh(engine, clock.now())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
