"""Errors as RFC 9457 problem documents.

Services raise ``AppError`` subclasses (app.errors); the handlers installed by
``install_error_handlers`` turn them, FastAPI's validation errors, Starlette's
HTTP errors and anything unexpected into ``application/problem+json``.
Nothing from an unexpected exception (text, trace) reaches the client.
"""

import logging
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, DatabaseUnavailable
from app.schemas.imports import BlockerCode

log = logging.getLogger("rectrack.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"


# The stable code of a problem that has no more specific one, by status.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    428: "precondition_required",
    500: "internal_error",
    503: "service_unavailable",
}
# Codes of specific problems, beside those above; the OpenAPI document lists them all.
SPECIFIC_CODES = (
    # who is asking
    "key_required",
    "invalid_key",
    "metrics_token_required",
    # the request itself
    "validation_error",
    "invalid_input",
    "id_out_of_range",
    "implausible_date",
    "invalid_idempotency_key",
    "idempotency_key_reused",
    # the domain's rules
    "rule_violation",
    "not_an_owner",
    "recommendation_closed",
    "evidence_required",
    "unknown_report",
    "unknown_organisation",
    # imports, and the blockers that refuse one
    "no_file",
    "not_a_report",
    "not_plain_text",
    "not_utf8",
    "text_too_large",
    "not_a_pdf",
    "broken_pdf",
    "encrypted_pdf",
    "pdf_no_text",
    "pdf_too_complex",
    "pdf_too_many_pages",
    "not_a_docx",
    "broken_docx",
    "docx_too_complex",
    "document_reading_busy",
    "concurrent_import",
    *get_args(BlockerCode),
    # webhooks
    "webhook_url_refused",
    "webhook_endpoint_disabled",
    # the service
    "database_unavailable",
    "migrations_pending",
)


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(
        description=(
            "Stable, for programs to act on (the title and detail are for people). Among them: "
            + ", ".join(f"`{code}`" for code in sorted({*STATUS_CODES.values(), *SPECIFIC_CODES}))
            + "."
        ),
        examples=["validation_error"],
    )
    request_id: str | None = None


def problem_response(
    request: Request,
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body["code"] = code or STATUS_CODES.get(status, "error")
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
        # Also set here: a 500 is answered outside the middleware that sets it.
        headers = {**(headers or {}), "X-Request-ID": request_id}
    body.update(extensions)
    return JSONResponse(
        {k: v for k, v in body.items() if v is not None},
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each error once: FastAPI validates a parameter again for every dependency that declares
    it (``as_of`` for the route and for its ETag) and reports each failure every time."""
    distinct = {
        (tuple(str(part) for part in error.get("loc", ())), error.get("msg", ""), error.get("type", "")): None
        for error in exc.errors()
    }
    return [
        {"location": list(location), "message": message, "type": kind} for location, message, kind in distinct
    ]


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(e['location'])}: {e['message']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


class AllowedMethods:
    """What a 405's ``Allow`` says: the documented methods of the path requested.

    Starlette's own ``Allow`` names only the first route that matches the path, though
    GET and POST on one path are two routes. Where a literal path and a templated one both
    match (/reports/import and /reports/{report_id}), the literal one answers, as routing does.
    """

    def __init__(self, routes: Iterable[tuple[str, Iterable[str]]]) -> None:
        by_template: dict[str, set[str]] = {}
        for template, methods in routes:
            by_template.setdefault(template, set()).update(m.upper() for m in methods)
        self._paths = [
            (re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))), template.count("{"), methods)
            for template, methods in by_template.items()
        ]

    def __call__(self, path: str) -> list[str]:
        matches = [(params, methods) for regex, params, methods in self._paths if regex.fullmatch(path)]
        if not matches:
            return []
        fewest = min(params for params, _ in matches)
        return sorted({m for params, methods in matches if params == fewest for m in methods})


def database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    """503: the database is down, or busy past the timeout (SQLite's lock)."""
    log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    return app_error_response(request, DatabaseUnavailable())


def app_error_response(request: Request, exc: AppError) -> JSONResponse:
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        headers=exc.headers,
        **exc.extensions,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        return problem_response(
            request,
            status=422,
            title="Invalid request",
            detail=_describe(errors),
            code="validation_error",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is no resource at {request.url.path}."
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
            allowed = getattr(request.app.state, "allowed_methods", None)
            methods = (allowed(request.url.path) if allowed is not None else []) or [
                method.strip() for method in headers.get("Allow", "").split(",") if method.strip()
            ]
            if "GET" in methods:  # and so HEAD (app.api.middleware.head)
                methods = sorted({*methods, "HEAD"})
            headers["Allow"] = ", ".join(methods)
        return problem_response(request, status=exc.status_code, detail=detail, headers=headers or None)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        return database_unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return database_unavailable(request, exc)
        return problem_response(
            request,
            status=500,
            detail="Something went wrong on our side. The error has been logged.",
            code="internal_error",
        )
