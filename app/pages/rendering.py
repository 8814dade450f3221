"""Templates, the headers every HTML page carries, and the files the pages load."""

from pathlib import Path
from urllib.parse import quote

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

from app.pages import charts

HERE = Path(__file__).parent
STATIC_PATH = "/static"
DOCS_STATIC_PATH = "/static/docs"

# The dashboard loads its own stylesheet and script only; no inline script or style anywhere.
DASHBOARD_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["counts_chart"] = charts.counts_chart
templates.env.filters["words"] = charts.words
CALENDAR_NAMES = {
    "england-and-wales": "England and Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}
templates.env.filters["calendar"] = lambda name: CALENDAR_NAMES.get(name, name)
templates.env.filters["day"] = lambda day: f"{day.day} {day:%B %Y}" if day else "–"
templates.env.globals["static"] = lambda name: f"{STATIC_PATH}/{name}"

def html_headers(csp: str = DASHBOARD_CSP) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "private, no-cache",
    }

def render(
    request: Request,
    template: str,
    context: dict,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    csp: str = DASHBOARD_CSP,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        context,
        status_code=status_code,
        headers={**html_headers(csp), **(headers or {})},
    )

class SignInRequired(Exception):
    """A browser without a session asked for a page that needs one."""

async def sign_in_redirect(request: Request, _exc: SignInRequired) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)

class NoSniffStaticFiles(StaticFiles):
    """Static files that a browser must take for what their Content-Type says."""

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_static(app: FastAPI) -> None:
    # Swagger UI and ReDoc as the fastapi-offline package ships them (the longer path first).
    app.mount(
        DOCS_STATIC_PATH,
        NoSniffStaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"),
        name="docs-static",
    )
    app.mount(STATIC_PATH, NoSniffStaticFiles(directory=HERE / "static"), name="static")
