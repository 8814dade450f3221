"""The dashboard's pages and its sign-in: thin routes over the services the JSON API uses.

Every page identifies the caller as the API does (``identify``: a key, or the session cookie
a sign-in set), answers for the ``as_of`` date asked, and carries a weak ETag made from the
change counter, the URL, the date and the session: a page refreshed with ``If-None-Match``
while nothing changed is a 304 without a query.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from app.api.conditional import NotModified
from app.api.deps import (
    ClockDep,
    CredentialsDep,
    IdPath,
    SessionDep,
    as_of_on,
    identify,
)
from app.api.etags import holds_tag
from app.domain.access import Actor
from app.domain.deadlines import Rag
from app.domain.status import Role
from app.errors import NotFound
from app.pages import session as cookies
from app.pages.rendering import SignInRequired, render
from app.schemas.common import Day
from app.services import (
    assurance,
    keys,
    organisations,
    progress,
    recommendations,
    reports,
    sessions,
    summaries,
    target_dates,
)
from app.services.as_of import AsOf
from app.services.recommendations import RecommendationFilters, SortOrder

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 200  # a page shows at most this many rows of a list, and says when there are more
_DAY = TypeAdapter(Day)


class PageError(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@dataclass(frozen=True)
class Viewer:
    """Who is looking, at which date, and what the page's links and forms carry."""

    actor: Actor
    as_of: AsOf
    asked: date | None  # the as_of in the URL, None for today
    sign_out_token: str | None
    etag: str

    @property
    def query(self) -> str:
        """The query string links between pages carry, so the date asked for is kept."""
        return f"?as_of={self.asked.isoformat()}" if self.asked else ""

    @property
    def organisation_id(self) -> int | None:
        return self.actor.organisation_id if self.actor.role is Role.EDITOR else None


def _asked_day(raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return _DAY.validate_python(raw)
    except ValidationError:
        raise PageError(422, "Not a date", f"{raw[:40]!r} is not a date: use YYYY-MM-DD.") from None


async def viewer(
    request: Request,
    session: SessionDep,
    credentials: CredentialsDep,
    clock: ClockDep,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Viewer:
    actor = await identify(request, session, credentials)
    state = request.app.state
    if actor.is_anonymous and not state.settings.anonymous_reads:
        raise SignInRequired()
    asked = _asked_day(as_of)
    day = as_of_on(clock, state.settings, asked)
    browser_session: sessions.SessionToken | None = getattr(request.state, "browser_session", None)
    counter = await state.change_counter.read()
    material = "|".join(
        [
            str(counter),
            request.url.path,
            str(sorted(request.query_params.multi_items())),
            day.day.isoformat(),
            str(actor.api_key_id),
            browser_session.nonce if browser_session else "",
        ]
    )
    etag = 'W/"' + hashlib.sha256(material.encode()).hexdigest()[:32] + '"'
    if holds_tag(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)
    secret = state.settings.key_secret
    sign_out = sessions.sign_out_token(browser_session, secret) if browser_session else None
    return Viewer(actor=actor, as_of=day, asked=asked, sign_out_token=sign_out, etag=etag)


ViewerDep = Annotated[Viewer, Depends(viewer)]


def _page(request: Request, template: str, viewer: Viewer, **context) -> HTMLResponse:
    return render(request, template, {"viewer": viewer, **context}, headers={"ETag": viewer.etag})


def _found(lookup, *args):
    try:
        return lookup(*args)
    except NotFound as missing:
        raise PageError(404, "Not found", missing.detail) from None


@router.get("/", response_class=HTMLResponse)
def portfolio(request: Request, viewer: ViewerDep, session: SessionDep):
    items, total = reports.list_reports(session, slug=None, limit=LIST_LIMIT, offset=0)
    rows = [
        (view, summaries.report_summary(session, report=report, as_of=viewer.as_of))
        for report, view in zip(items, reports.report_views(session, items, viewer.as_of), strict=True)
    ]
    summary = summaries.portfolio_summary(session, as_of=viewer.as_of, kept=request.app.state.portfolio_parts)
    return _page(request, "portfolio.html", viewer, rows=rows, total=total, summary=summary)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, viewer: ViewerDep, session: SessionDep, report_id: IdPath):
    report = _found(reports.get_report, session, report_id)
    items, total = recommendations.list_recommendations(
        session,
        filters=RecommendationFilters(report_id=report.id),
        as_of=viewer.as_of,
        sort=SortOrder.REF,
        limit=LIST_LIMIT,
        offset=0,
    )
    return _page(
        request,
        "report.html",
        viewer,
        report=reports.report_view(session, report, viewer.as_of),
        summary=summaries.report_summary(session, report=report, as_of=viewer.as_of),
        deadline=reports.explain_deadline(report, viewer.as_of),
        items=items,
        total=total,
    )


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
def organisation_page(request: Request, viewer: ViewerDep, session: SessionDep, organisation_id: IdPath):
    organisation = _found(organisations.get_organisation, session, organisation_id)

    def owned(sort: SortOrder, **filters):
        return recommendations.list_recommendations(
            session,
            filters=RecommendationFilters(organisation=str(organisation.id), **filters),
            as_of=viewer.as_of,
            sort=sort,
            limit=LIST_LIMIT,
            offset=0,
        )

    items, total = owned(SortOrder.DUE_DATE)
    overdue, _ = owned(SortOrder.DAYS_OVERDUE, overdue=True)
    due_soon, _ = owned(SortOrder.DUE_DATE, rags=[Rag.AMBER])
    return _page(
        request,
        "organisation.html",
        viewer,
        organisation=organisation,
        summary=summaries.organisation_summary(session, organisation=organisation, as_of=viewer.as_of),
        items=items,
        total=total,
        overdue=overdue,
        due_soon=due_soon,
    )


@router.get("/recommendations/{recommendation_id}", response_class=HTMLResponse)
def recommendation_page(request: Request, viewer: ViewerDep, session: SessionDep, recommendation_id: IdPath):
    recommendation = _found(recommendations.get_recommendation, session, recommendation_id)
    report = reports.get_report(session, recommendation.report_id)
    listed = {"recommendation": recommendation, "limit": LIST_LIMIT, "offset": 0}
    updates, _ = progress.list_progress_updates(session, **listed)
    decisions, _ = assurance.list_decisions(session, **listed)
    revisions, _ = target_dates.list_revisions(session, **listed)
    key_ids = {d.api_key_id for d in decisions} | {r.api_key_id for r in revisions}
    return _page(
        request,
        "recommendation.html",
        viewer,
        item=recommendations.recommendation_view(session, recommendation, as_of=viewer.as_of),
        report=report,
        updates=updates,
        evidence=progress.list_evidence(session, **listed)[0],
        decisions=decisions,
        revisions=revisions,
        key_names=keys.names(session, key_ids - {None}),
    )


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _sign_in_form(request: Request, *, next_path: str, error: str | None = None, status_code: int = 200):
    token = cookies.sign_in_token(request)
    context = {"next": next_path, "error": error, "csrf_token": token}
    response = render(request, "sign_in.html", context, status_code=status_code)
    cookies.remember_sign_in_token(response, request, request.app.state.settings, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None):  # noqa: A002
    return _sign_in_form(request, next_path=_local(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
):
    state = request.app.state
    target = _local(next)
    if not cookies.sign_in_token_matches(request, csrf_token):
        expired = "The form had expired. Please paste the key again."
        return _sign_in_form(request, next_path=target, status_code=403, error=expired)
    found = await run_in_threadpool(_authenticate, session, api_key.strip(), state.settings.key_secret)
    if found is None:
        return _sign_in_form(
            request,
            next_path=target,
            status_code=401,
            error="That key is not valid, or it has been revoked.",
        )
    settings = state.settings
    token = sessions.issue(
        key_id=found, secret=settings.key_secret, now=state.clock.now(), lifetime=cookies.lifetime(settings)
    )
    response = RedirectResponse(target, status_code=303)
    cookies.start_session(response, request, settings, token)
    return response


def _authenticate(session, presented: str, secret: str) -> int | None:
    try:
        found = keys.authenticate(session, presented=presented, secret=secret)
        return None if found is None else found.id
    finally:
        session.rollback()


@router.post("/sign-out")
async def sign_out(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""):
    settings = request.app.state.settings
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    current = sessions.read(cookie, secret=settings.key_secret, now=request.app.state.clock.now())
    if current is not None and not cookies.sign_out_token_matches(current, csrf_token, settings):
        raise PageError(403, "Not signed out", "The sign-out form did not come from this site's page.")
    response = RedirectResponse("/sign-in", status_code=303)
    cookies.end_session(response)
    return response


async def page_error(request: Request, exc: PageError) -> Response:
    return render(request, "error.html", {"error": exc}, status_code=exc.status)
