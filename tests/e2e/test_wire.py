"""HTTP as bytes on the wire, against ``rectrack serve`` as it runs in production.

- Bytes that are not an HTTP/1.1 request get a problem document, as every other error does,
  and the connection is closed: uvicorn answers these itself, before the application sees a
  request (app.api.http_protocol).
- HEAD is answered wherever GET is, with the GET's status and headers and no body
  (app.api.middleware.head): only a real server shows that no body is sent.
"""

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.processes import HOST, free_port, start_process, stop_process, wait_ready
from tests.e2e.conftest import (
    ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    _executable,
    _server_env,
    fresh_live_database,
    prepare_database,
)

LEAKS = ("Traceback", "httptools", "uvicorn", "Invalid HTTP request received")


@dataclass(frozen=True)
class Served:
    port: int
    key: bytes  # an admin's Authorization header line


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with fresh_live_database(folder) as url:
        headers = prepare_database(url)
        port = free_port()
        log_path = folder / "serve.log"
        command = [_executable("rectrack"), "serve", "--host", HOST, "--port", str(port)]
        process = start_process(command, env=_server_env(url), log_path=log_path, cwd=ROOT)
        try:
            wait_ready(process, f"http://{HOST}:{port}/readyz", log_path, START_TIMEOUT)
            yield Served(port, f"Authorization: {headers['Authorization']}\r\n".encode())
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
def test_a_request_that_cannot_be_read_is_answered_with_a_problem(served, sent):
    status, headers, body = _exchange(served.port, sent)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "bad_request", problem
    assert problem["title"] and problem["detail"]
    for leak in LEAKS:
        assert leak not in body.decode(), problem


def _request(method: str, path: str, served: Served, *extra: bytes) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + served.key
        + b"".join(extra)
        + b"\r\n"
    )


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/api/v1/summary", "/api/v1/reports/1", "/api/v1/reports/1/action-plan.csv", "/docs"],
)
def test_head_is_the_get_without_its_body(served, path):
    status, headers, body = _exchange(served.port, _request("GET", path, served))
    assert status == "HTTP/1.1 200 OK" and body
    head_status, head_headers, head_body = _exchange(served.port, _request("HEAD", path, served))
    assert head_status == status
    assert head_body == b""  # nothing after the headers, though Content-Length says what GET sends
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head_headers.get(name) == headers.get(name), name


def test_head_with_a_current_etag_is_a_304(served):
    _, headers, _ = _exchange(served.port, _request("GET", "/api/v1/summary", served))
    status, _, body = _exchange(
        served.port,
        _request("HEAD", "/api/v1/summary", served, f"If-None-Match: {headers['etag']}\r\n".encode()),
    )
    assert status == "HTTP/1.1 304 Not Modified" and body == b""


def test_head_where_there_is_no_get_is_a_405(served):
    status, headers, body = _exchange(served.port, _request("HEAD", "/api/v1/keys/1/revoke", served))
    assert status == "HTTP/1.1 405 Method Not Allowed" and body == b""
    assert headers["allow"] == "POST"
