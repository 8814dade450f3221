"""HEAD wherever GET is answered (RFC 9110, 9.3.2): the GET's status and headers, no body.

FastAPI's routes take only the methods they declare, so a monitor's HEAD /healthz, or a
client's HEAD on a summary to read its ETag, was a 405. Here, just before routing, a HEAD is
routed as a GET on a copy of the scope. The server's own scope still says HEAD, so uvicorn
sends the GET's status and headers (Content-Length and ETag included) without the body. The
middleware outside (request ids, the access log, metrics) sees HEAD, and the route the GET
matched, which is copied back.
"""

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        routed = {**scope, "method": "GET"}
        try:
            await self.app(routed, receive, send)
        finally:  # what routing set (the route, its template, path parameters), for the access log
            scope.update({key: value for key, value in routed.items() if key != "method"})
