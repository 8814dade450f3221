"""The API's documentation, served whole by rectrack: Swagger UI at /docs, ReDoc at /redoc.

Their scripts, stylesheet and icon come from the fastapi-offline package (mounted at
/static/docs), and each page starts its viewer from a script file of ours rather than an
inline script, so the pages' Content-Security-Policy can forbid inline scripts.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.pages.rendering import DOCS_STATIC_PATH, render

router = APIRouter(include_in_schema=False)

# Swagger UI draws its icons from data: URIs. ReDoc's styles are made in the browser
# (inline <style> elements) and it searches in a worker it starts from a blob: URL.
SWAGGER_CSP = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
REDOC_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _context(request: Request) -> dict:
    return {"openapi_url": request.app.openapi_url, "docs_static": DOCS_STATIC_PATH}


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request):
    return render(request, "swagger.html", _context(request), csp=SWAGGER_CSP)


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request):
    return render(request, "redoc.html", _context(request), csp=REDOC_CSP)
