"""Bytes that are not an HTTP/1.1 request, sent to ``rectrack serve`` as it runs in production:
a problem document, as every other error is, and the connection closed.

uvicorn answers these itself, before the application sees a request (app.api.http_protocol).
"""

import json
import socket
from collections.abc import Iterator

import pytest

from app.db.migrations import upgrade
from bench.processes import HOST, free_port, start_process, stop_process, wait_ready
from tests.e2e.conftest import (
    ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    _executable,
    _server_env,
    fresh_live_database,
)

LEAKS = ("Traceback", "httptools", "uvicorn", "Invalid HTTP request received")


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("serve")
    with fresh_live_database(folder) as url:
        upgrade(url)
        port = free_port()
        log_path = folder / "serve.log"
        command = [_executable("rectrack"), "serve", "--host", HOST, "--port", str(port)]
        process = start_process(command, env=_server_env(url), log_path=log_path, cwd=ROOT)
        try:
            wait_ready(process, f"http://{HOST}:{port}/readyz", log_path, START_TIMEOUT)
            yield port
        finally:
            stop_process(process, STOP_TIMEOUT)


def _exchange(port: int, sent: bytes) -> tuple[str, dict[str, str], bytes]:
    """The status line, headers and body the server answers ``sent`` with, read until it closes."""
    with socket.create_connection((HOST, port), timeout=10) as connection:
        connection.sendall(sent)
        received = b""
        while chunk := connection.recv(65536):  # b"": the server closed the connection
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="not-http"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", id="malformed-header"),
        pytest.param(b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="too-long"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", id="bad-length"),
    ],
)
def test_a_request_that_cannot_be_read_is_answered_with_a_problem(port, sent):
    status, headers, body = _exchange(port, sent)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "bad_request", problem
    assert problem["title"] and problem["detail"]
    for leak in LEAKS:
        assert leak not in body.decode(), problem


def test_a_request_that_can_be_read_is_served_as_before(port):
    status, headers, body = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body) == {"status": "ok"}
