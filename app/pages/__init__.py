"""The browser's side of rectrack: the dashboard, its sign-in, and the API's documentation.

A web layer beside ``app.api``: pages read through the same services and schemas as the
JSON API and render them with Jinja2 on the server. Nothing here is in the OpenAPI document.
"""

from fastapi import FastAPI

from app.pages import docs, routes
from app.pages.errors import install_error_pages
from app.pages.rendering import SignInRequired, mount_static, sign_in_redirect
from app.pages.routes import PageError, page_error


def install(app: FastAPI, *, api_prefix: str) -> None:
    """Serve the dashboard at /, the sign-in pages, /docs and /redoc, and their files; and
    error pages, not problem documents, to browsers outside the API (``api_prefix``)."""
    mount_static(app)
    app.add_exception_handler(SignInRequired, sign_in_redirect)
    app.add_exception_handler(PageError, page_error)
    install_error_pages(app, api_prefix=api_prefix)
    app.include_router(docs.router)
    app.include_router(routes.router)
