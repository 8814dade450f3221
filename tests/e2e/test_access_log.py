"""The access log of the real server: one JSON object a line, every request, none lost at shutdown.

The server runs with its log at ``info`` and its output (stderr) going to a file, as
production and the benchmarks run it. Each test reads the file after stopping the server,
so every line the server wrote before it exited counts, and none written after a test's
requests is missed. The paths and headers are what a hostile client can send.
"""

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.processes import stop_process
from tests.e2e.conftest import LiveServer, fresh_live_database, prepare_database, run_live_server

FIELDS = ["time", "level", "logger", "message", "request_id", "method", "path", "route", "status", "duration_ms"]
LOG_AT_INFO = {"RECTRACK_LOG_LEVEL": "info"}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    folder = tmp_path_factory.mktemp("access-log")
    with fresh_live_database(folder) as url:
        yield url, prepare_database(url), folder


def stopped_server_lines(server: LiveServer) -> list[dict]:
    """Every access line the server wrote, read once it has exited; each must parse alone."""
    assert server.process is not None
    stop_process(server.process, 10.0)
    assert server.process.returncode is not None
    entries = []
    for line in server.log().splitlines():
        if '"rectrack.access"' in line:
            entry = json.loads(line)  # one whole JSON object, or the test fails here
            assert list(entry) == FIELDS, line
            entries.append(entry)
    return entries


HOSTILE = [
    # (raw path as sent, the path the log must show)
    ('/api/v1/reports/%22quoted%22%5C', '/api/v1/reports/"quoted"\\'),
    ("/api/v1/x/%00%01%07%0A%0D%1B%1F%7F", "/api/v1/x/\x00\x01\x07\n\r\x1b\x1f\x7f"),
    ("/api/v1/caf%C3%A9/%E4%B8%AD/%F0%9F%98%80", "/api/v1/caf\u00e9/\u4e2d/\U0001f600"),
    ("/api/v1/bad-utf8/%FF%FE", "/api/v1/bad-utf8/\ufffd\ufffd"),
    ("/api/v1/" + "long" * 500, "/api/v1/" + "long" * 500),
    ('/api/v1/{"a":[1]}', '/api/v1/{"a":[1]}'),
]


def test_each_request_is_one_json_line_with_its_fields_even_for_hostile_requests(database):
    url, headers, folder = database
    with run_live_server(url, folder, headers=headers, env=LOG_AT_INFO) as server:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            report = client.get("/api/v1/reports", headers={**headers, "X-Request-ID": "trace-42"})
            assert report.status_code == 200
            hostile = [
                client.get(raw, headers={**headers, "X-Request-ID": f"hostile-{n}"})
                for n, (raw, _) in enumerate(HOSTILE)
            ]
            refused_ids = {
                'quote"d': client.get("/healthz", headers={"X-Request-ID": 'quote"d'}),
                "x" * 129: client.get("/healthz", headers={"X-Request-ID": "x" * 129}),
                "caf\u00e9": client.get("/healthz", headers={"X-Request-ID": "caf\u00e9".encode()}),
                "tab\there": client.get("/healthz", headers={"X-Request-ID": "tab\there"}),
            }
        entries = stopped_server_lines(server)
    by_id = {entry["request_id"]: entry for entry in entries}

    first = by_id["trace-42"]
    assert first["level"] == "info" and first["logger"] == "rectrack.access"
    assert first["method"] == "GET" and first["path"] == "/api/v1/reports"
    assert first["route"] == "/api/v1/reports" and first["status"] == 200
    assert first["message"] == "GET /api/v1/reports 200"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["time"].endswith("+00:00") and len(first["time"]) == len("2026-12-02T15:36:15.123+00:00")

    for n, ((_, path), answer) in enumerate(zip(HOSTILE, hostile, strict=True)):
        entry = by_id[f"hostile-{n}"]
        assert entry["path"] == path
        assert entry["status"] == answer.status_code
        assert entry["message"] == f"GET {path} {answer.status_code}"

    # A request id that is not plain is replaced by one of the server's, in the log as in the answer.
    for sent, answer in refused_ids.items():
        given = answer.headers["X-Request-ID"]
        assert given != sent and given in by_id and by_id[given]["path"] == "/healthz"
    assert not any(entry["request_id"] in refused_ids for entry in entries)


BURST = 200


@pytest.mark.parametrize("workers", [1, 2])
def test_no_line_is_lost_or_mixed_when_a_burst_ends_with_the_server(database, workers):
    """Lines from a burst of concurrent requests; the server is stopped as soon as the last is answered."""
    url, headers, folder = database
    with run_live_server(url, folder, headers=headers, env=LOG_AT_INFO, workers=workers) as server:
        answered: list[str] = []
        lock = threading.Lock()

        def poll(n: int) -> None:
            request_id = f"burst-{workers}-{n}"
            answer = httpx.get(
                server.url("/api/v1/reports"), headers={**headers, "X-Request-ID": request_id}, timeout=30
            )
            assert answer.status_code == 200
            with lock:
                answered.append(request_id)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(poll, range(BURST)))
        entries = stopped_server_lines(server)
    logged = [entry["request_id"] for entry in entries if entry["request_id"].startswith(f"burst-{workers}-")]
    assert sorted(logged) == sorted(answered) and len(answered) == BURST
