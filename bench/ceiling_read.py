"""The read ceiling: a bare FastAPI app answering a constant JSON body.

    BENCH_CEILING_BYTES=4321 uvicorn bench.ceiling_read:app --host 127.0.0.1 --port 8001

``GET /api/v1/summary`` (the path of the real portfolio summary, so that wrk sends
the very same request) answers a JSON document of exactly ``BENCH_CEILING_BYTES``
bytes, built once at start-up and sent as it is: no database, no middleware, no
validation, no serialisation per request, and an ``async def`` route, so no hop
to a worker thread either. What the framework and the server can do at best on
this machine, for a body of that size; ``/readyz`` and ``/healthz`` answer so the
harness can wait for it like for the real server.
"""

import json
import os

from fastapi import FastAPI
from fastapi.responses import Response


def constant_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least 16)."""
    skeleton = json.dumps({"as_of": "2026-11-01", "padding": ""}, separators=(",", ":")).encode()
    size = max(size, len(skeleton))
    body = json.dumps(
        {"as_of": "2026-11-01", "padding": "x" * (size - len(skeleton))}, separators=(",", ":")
    ).encode()
    assert len(body) == size, (len(body), size)
    return body


BODY = constant_body(int(os.environ.get("BENCH_CEILING_BYTES", "2048")))

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/api/v1/summary")
async def summary() -> Response:
    return Response(content=BODY, media_type="application/json")


@app.get("/readyz")
@app.get("/healthz")
async def ready() -> dict:
    return {"status": "ready", "bytes": len(BODY)}
