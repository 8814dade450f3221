"""What a browser sees when no page answers it: the dashboard's error page, not JSON.

The API's handlers (``app.api.problems``) answer a path that is no route, a method a route does
not take and a parameter that does not validate with a problem document, which is what an API
client wants. A person who mistypes a page's address wants a page. So for a request outside the
API that accepts HTML, the same answer (its status, detail and ``Allow``) is rendered as the
dashboard's error page. A page's id that is no id (``/reports/abc``) names no page: 404, as a
path that matches no route.
"""

import json

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.pages.routes import PageError, page_error

KEPT_HEADERS = ("allow", "www-authenticate")


def install_error_pages(app: FastAPI, *, api_prefix: str) -> None:
    """Over the API's handlers, which ``install_error_handlers`` registered before."""
    answer_route_errors = app.exception_handlers[HTTPException]
    answer_invalid_requests = app.exception_handlers[RequestValidationError]

    def wants_page(request: Request) -> bool:
        path = request.url.path
        in_api = path == api_prefix or path.startswith(api_prefix + "/")
        return not in_api and "text/html" in request.headers.get("accept", "")

    async def route_error(request: Request, exc: Exception) -> Response:
        answer = await answer_route_errors(request, exc)
        return await _as_page(request, answer) if wants_page(request) else answer

    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not wants_page(request):
            return await answer_invalid_requests(request, exc)
        if all((error.get("loc") or ("",))[0] == "path" for error in exc.errors()):
            return await _as_page(request, await answer_route_errors(request, HTTPException(404)))
        return await _as_page(request, await answer_invalid_requests(request, exc))

    app.add_exception_handler(HTTPException, route_error)
    app.add_exception_handler(RequestValidationError, invalid_request)


async def _as_page(request: Request, answer: Response) -> Response:
    problem = json.loads(answer.body)
    title = problem["title"].capitalize()  # "Not Found" as the dashboard's own pages say it: "Not found"
    error = PageError(answer.status_code, title, problem.get("detail") or title)
    page = await page_error(request, error)
    for name in KEPT_HEADERS:
        if name in answer.headers:
            page.headers[name] = answer.headers[name]
    return page
