"""End-to-end tests against the real server, run as a subprocess.

``live_server`` starts ``uvicorn app.main:app`` on a free loopback port with a
database of its own (a new SQLite file, or a new schema in the PostgreSQL test
database named by ``RECTRACK_TEST_POSTGRES_URL``), migrated with the real
migrations and seeded with ``rectrack seed``, and stops it afterwards.

Every request the tests make passes ``headers=live_server.headers``, which
carry an admin API key made with ``rectrack keys create`` for that database.

Servers are started, awaited and stopped by ``bench.processes``, as the
benchmark harness starts its own.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.db.engine import normalise_database_url
from app.db.migrations import upgrade
from bench.processes import HOST, NotReady, clean_env, free_port, start_process, stop_process, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtual environment pytest runs in
START_TIMEOUT = 60.0  # seconds for the server to answer /readyz (generous: CI can be slow)
STOP_TIMEOUT = 10.0  # seconds for a graceful stop before SIGKILL
SECRET_KEY = "e2e-" + uuid.uuid4().hex + uuid.uuid4().hex  # per test run, never a real secret


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        """The server's output so far (for failure messages)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


def _executable(name: str) -> str:
    path = BIN / name
    if not path.exists():  # pragma: no cover - a broken environment
        pytest.fail(f"{path} not found: run the tests with the project's .venv")
    return str(path)


def _server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without any RECTRACK_* setting, plus the database (and ``extra``)."""
    env = clean_env()
    env.update(
        RECTRACK_DATABASE_URL=database_url,
        RECTRACK_ENVIRONMENT="development",
        RECTRACK_SECRET_KEY=SECRET_KEY,  # the server and `rectrack keys` must hash keys alike
        RECTRACK_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@contextmanager
def fresh_live_database(folder: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in ``folder`` or a PostgreSQL schema."""
    base = os.environ.get("RECTRACK_TEST_POSTGRES_URL")
    if not base:
        yield f"sqlite:///{folder / f'live-{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_database_url(base), poolclass=NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(normalise_database_url(base)).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()


def _rectrack(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_executable("rectrack"), *args],
        cwd=ROOT,
        env=_server_env(database_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def prepare_database(database_url: str) -> dict[str, str]:
    """Migrate (real migrations), seed (``rectrack seed``) and make an admin key
    (``rectrack keys create``); the headers that carry the key."""
    upgrade(database_url)
    result = _rectrack(database_url, "seed")
    assert result.returncode == 0, f"rectrack seed failed:\n{result.stdout}\n{result.stderr}"
    result = _rectrack(database_url, "keys", "create", "--role", "admin", "--name", "e2e tests")
    assert result.returncode == 0, f"rectrack keys create failed:\n{result.stdout}\n{result.stderr}"
    key = result.stdout.strip()
    assert key and len(key.split()) == 1, f"expected the key alone on stdout, got {result.stdout!r}"
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def run_live_server(
    database_url: str,
    log_folder: Path,
    *,
    workers: int = 1,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Serve ``database_url`` (already prepared) with uvicorn; stop it on exit."""
    attempts = 3  # a free port can be taken between choosing it and binding it
    for attempt in range(1, attempts + 1):
        port = free_port()
        log_path = log_folder / f"uvicorn-{port}.log"
        command = [
            _executable("uvicorn"),
            "app.main:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--timeout-graceful-shutdown",
            "5",
            "--no-access-log",
        ]
        process = start_process(command, env=_server_env(database_url, env), log_path=log_path, cwd=ROOT)
        server = LiveServer(
            base_url=f"http://{HOST}:{port}",
            database_url=database_url,
            headers=dict(headers or {}),
            process=process,
            log_path=log_path,
        )
        try:
            try:
                wait_ready(process, server.url("/readyz"), log_path, START_TIMEOUT, server.headers)
            except NotReady as error:
                output = server.log()
                stop_process(process, STOP_TIMEOUT)
                if attempt < attempts and "address already in use" in output.lower():
                    continue
                pytest.fail(f"the live server did not start: {error}\n--- server output ---\n{output}")
            yield server
            return
        finally:
            stop_process(process, STOP_TIMEOUT)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server with a migrated, seeded database of its own, for a module."""
    folder = tmp_path_factory.mktemp("live")
    with fresh_live_database(folder) as url:
        headers = prepare_database(url)
        with run_live_server(url, folder, headers=headers) as server:
            yield server


@pytest.fixture
def start_live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start further servers (e.g. ``workers=2``), stopped after the test.

    Each gets a fresh, seeded database, or serves ``share``'s database (and
    sends its headers) when given: a second server on the same data.
    """
    with ExitStack() as stack:

        def start(*, workers: int = 1, share: LiveServer | None = None) -> LiveServer:
            if share is not None:
                url, headers = share.database_url, share.headers
            else:
                url = stack.enter_context(fresh_live_database(tmp_path))
                headers = prepare_database(url)
            return stack.enter_context(run_live_server(url, tmp_path, workers=workers, headers=headers))

        yield start
