"""Real parts for the webhook tests: a receiver HTTP server on 127.0.0.1, `rectrack worker`
processes, and a signature check written from the Standard Webhooks spec (not our signer)."""

import base64
import hashlib
import hmac
import json
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.processes import stop_process
from tests.e2e.conftest import HOST, ROOT, STOP_TIMEOUT, _executable, _server_env

# Short retries, a quick poll and a short lease, so the tests wait seconds, not hours.
WORKER_ENV = {
    "RECTRACK_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "RECTRACK_WEBHOOK_RETRY_SCHEDULE": "0,1,1,1",
    "RECTRACK_WORKER_POLL_SECONDS": "0.2",
    "RECTRACK_WORKER_LEASE_SECONDS": "2",
    "RECTRACK_REMINDER_TIME": "23:59:59",
    "RECTRACK_LOG_LEVEL": "info",
}
WAIT = 60.0  # seconds for something the worker should do within a second or two


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with the next scripted answer, else 204."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[Callable[[], int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], what: str, timeout: float = WAIT
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                seen = list(self.received)
            if predicate(seen):
                return seen
            time.sleep(0.05)
        raise AssertionError(
            f"timed out waiting for {what}; received {[r.headers.get('webhook-id') for r in seen]}"
        )

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.json()["type"] == event_type]


@contextmanager
def run_receiver():
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.answers.pop(0) if receiver.answers else (lambda: 204)
            status = answer()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://{HOST}:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def verify(received: Received, secret: str) -> None:
    """The Standard Webhooks check, from the spec: HMAC-SHA256 of id.timestamp.body keyed with the
    base64-decoded secret, compared with each v1 signature of the header."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = (
        f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = [
        s.split(",", 1)[1] for s in received.headers["webhook-signature"].split() if s.startswith("v1,")
    ]
    assert any(hmac.compare_digest(expected, s) for s in signatures), "no v1 signature matches"


@contextmanager
def run_worker(database_url: str, log_folder: Path, env: dict[str, str] | None = None, name: str = "worker"):
    log_path = log_folder / f"{name}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_executable("rectrack"), "worker"],
            cwd=ROOT,
            env=_server_env(database_url, {**WORKER_ENV, **(env or {})}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log_path = log_path
    try:
        yield process
    finally:
        stop_process(process, STOP_TIMEOUT)


def rectrack(database_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_executable("rectrack"), *args],
        cwd=ROOT,
        env=_server_env(database_url, {**WORKER_ENV, **(env or {})}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
