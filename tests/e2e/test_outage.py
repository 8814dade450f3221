"""A PostgreSQL outage under the running server: 503s, then recovery without a restart.

Needs the throwaway cluster of ``scripts/with-postgres``, whose control helper
``RECTRACK_TEST_PG_CTL`` stops and starts it.
"""

import os
import subprocess
import time

import httpx
import pytest

PG_CTL = os.environ.get("RECTRACK_TEST_PG_CTL")

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not PG_CTL or not os.environ.get("RECTRACK_TEST_POSTGRES_URL"),
        reason="needs the throwaway PostgreSQL of scripts/with-postgres (RECTRACK_TEST_PG_CTL)",
    ),
]

OUTAGE_DEADLINE = 10.0  # seconds for the server to notice the database is gone
RECOVERY_DEADLINE = 30.0  # seconds for it to answer normally once the database is back
REQUEST_TIMEOUT = 8.0  # longer than the 5 s connect timeout of the app's engine
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "connection refused", 'File "')


def _pg_ctl(action: str) -> None:
    result = subprocess.run([PG_CTL, action], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"pgctl {action} failed:\n{result.stdout}\n{result.stderr}"


def _check_unavailable(response: httpx.Response) -> dict:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == 503
    assert body["title"] and body.get("detail")
    assert body.get("request_id") == response.headers["x-request-id"]
    for leak in LEAKS:
        assert leak.lower() not in response.text.lower(), f"{leak!r} leaked into {response.text}"
    return body


def _poll(client: httpx.Client, server, path: str, wanted: int, deadline: float) -> httpx.Response:
    """GET ``path`` until it answers ``wanted`` or ``deadline`` (monotonic) passes."""
    last: httpx.Response | None = None
    while True:
        try:
            last = client.get(server.url(path), headers=server.headers)
            if last.status_code == wanted:
                return last
        except httpx.TimeoutException:
            pass
        if time.monotonic() > deadline:
            return last
        time.sleep(0.2)


def test_database_outage_answers_503_and_recovers_without_restart(live_server):
    server = live_server
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        # Up: the pool holds live connections, which the outage will break.
        assert client.get(server.url("/readyz"), headers=server.headers).status_code == 200
        reports = client.get(server.url("/api/v1/reports"), headers=server.headers)
        assert reports.status_code == 200, reports.text
        assert reports.json()["total"] >= 1
        listed = client.get(server.url("/api/v1/recommendations?limit=1"), headers=server.headers)
        detail_path = f"/api/v1/recommendations/{listed.json()['items'][0]['id']}"
        detail = client.get(server.url(detail_path), headers=server.headers)
        assert detail.status_code == 200
        # A progress update is written on the event loop, through connections of its own.
        progress_path = f"{detail_path}/progress-updates"
        progress = {
            "author": "outage test",
            "narrative": "Reported while the database comes and goes.",
            "status": "in_progress",
            "organisation_code": detail.json()["owners"][0]["code"],
        }
        before = client.post(server.url(progress_path), headers=server.headers, json=progress)
        assert before.status_code == 201, before.text

        try:
            _pg_ctl("stop")
            stopped = time.monotonic()
            deadline = stopped + OUTAGE_DEADLINE

            ready = _poll(client, server, "/readyz", 503, deadline)
            assert ready is not None, "no answer from /readyz during the outage"
            _check_unavailable(ready)

            api = _poll(client, server, "/api/v1/reports", 503, deadline)
            assert api is not None, "no answer from /api/v1/reports during the outage"
            body = _check_unavailable(api)
            assert body.get("code") == "database_unavailable", body
            assert time.monotonic() - stopped < OUTAGE_DEADLINE

            _check_unavailable(_poll(client, server, detail_path, 503, deadline))

            # A write during the outage is refused the same way.
            write = client.post(
                server.url("/api/v1/organisations"),
                headers=server.headers,
                json={"code": "OUTAGE", "name": "Written during the outage", "kind": "other"},
            )
            _check_unavailable(write)
            # So is a progress update, its connection from before the outage broken.
            update = client.post(server.url(progress_path), headers=server.headers, json=progress)
            _check_unavailable(update)
            assert update.json()["code"] == "database_unavailable"

            # Liveness does not depend on the database.
            health = client.get(server.url("/healthz"), headers=server.headers)
            assert health.status_code == 200, health.text
        finally:
            _pg_ctl("start")

        # Back, with the same server process: stale pooled connections are replaced.
        assert server.process.poll() is None, "the server died during the outage"
        deadline = time.monotonic() + RECOVERY_DEADLINE
        ready = _poll(client, server, "/readyz", 200, deadline)
        assert ready is not None and ready.status_code == 200, ready.text if ready else "no answer"
        reports = _poll(client, server, "/api/v1/reports", 200, deadline)
        assert reports is not None and reports.status_code == 200, reports.text if reports else "no answer"
        assert reports.json()["total"] >= 1
        detail = _poll(client, server, detail_path, 200, deadline)
        assert detail is not None and detail.status_code == 200, detail.text if detail else "no answer"
        written = client.post(server.url(progress_path), headers=server.headers, json=progress)
        assert written.status_code == 201, written.text
        # Several requests in a row, so every pooled connection gets exercised.
        for _ in range(5):
            again = client.get(server.url("/api/v1/reports"), headers=server.headers)
            assert again.status_code == 200, again.text
        assert server.process.poll() is None
