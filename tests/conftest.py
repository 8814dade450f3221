"""Test database, sessions and clients.

The suite runs on a real database through the real migrations: a fresh SQLite
file by default, or PostgreSQL when ``RECTRACK_TEST_POSTGRES_URL`` is set
(``scripts/with-postgres`` sets it).

The API tests run the application exactly as ``create_app`` builds it: its own
engine, writers' engine, change counter, idempotency store and key-use
recorder, on the test database; only the clock is fixed. What a test and the
application commit is committed for real, and every table is emptied after the
test. The test's own ``session`` (setting up data, looking at what a request
wrote) is committed by the client before each request and expired after it, so
the application sees what the test set up and the test sees what the
application wrote.

``connection`` is for the tests of single statements: a transaction on the
test database, rolled back afterwards.
"""

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_db_engine, normalise_database_url
from app.db.migrations import upgrade
from app.db.sessions import writers
from app.domain.access import SYSTEM
from app.domain.status import Role
from app.main import create_app
from app.services import keys

# The date the tests live on unless they say otherwise: a Monday after the
# Kirklees action plan fell due.
TODAY = date(2018, 7, 2)


# Pure rules and the parsers touch no database: the SQLite pass of ``make test`` runs them, the
# PostgreSQL pass runs only what can differ by engine.
_ENGINE_FREE_FOLDERS = ("domain", "importer")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("RECTRACK_TEST_POSTGRES_URL"):
        return
    here = Path(__file__).parent
    engine_free = {
        item
        for item in items
        if "database_url" not in getattr(item, "fixturenames", ())
        and item.path.relative_to(here).parts[0] in _ENGINE_FREE_FOLDERS
    }
    if engine_free:
        config.hook.pytest_deselected(items=list(engine_free))
        items[:] = [item for item in items if item not in engine_free]


def _test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("RECTRACK_TEST_POSTGRES_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'rectrack-test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(settings.database_url)
    remember_migrated_rows(engine)
    yield engine
    engine.dispose()


@contextmanager
def fresh_database(database_url: str, folder: Path) -> Iterator[str]:
    """An empty database of its own: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{folder / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_database_url(database_url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(normalise_database_url(database_url)).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(database_url, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Like ``fresh_database_url``, shared by the tests of one module."""
    with fresh_database(database_url, tmp_path_factory.mktemp("module-db")) as url:
        yield url


_MIGRATED_ROWS: dict[str, list[dict]] = {}  # rows the migrations themselves insert, per table


def remember_migrated_rows(engine: Engine) -> None:
    with engine.connect() as connection:
        for name in inspect(engine).get_table_names():
            if name in ("alembic_version", "sqlite_sequence"):
                continue
            rows = [dict(row._mapping) for row in connection.execute(text(f'SELECT * FROM "{name}"'))]
            if rows:
                _MIGRATED_ROWS[name] = rows


def empty_tables(engine: Engine) -> None:
    """The migrated database, as new: every table emptied, identities restarted, and the rows the
    migrations insert (a cursor, say) put back."""
    tables = [
        name
        for name in inspect(engine).get_table_names()
        if name not in ("alembic_version", "sqlite_sequence")
    ]
    with writers(engine).begin() as connection:
        if engine.dialect.name == "postgresql":
            tables = _empty_written_postgres_tables(connection, tables)
        else:
            connection.execute(text("PRAGMA defer_foreign_keys = ON"))
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
            if "sqlite_sequence" in inspect(connection).get_table_names():
                connection.execute(text("DELETE FROM sqlite_sequence"))
        for name, rows in _MIGRATED_ROWS.items():
            if name in tables:
                columns = ", ".join(f'"{c}"' for c in rows[0])
                values = ", ".join(f":{c}" for c in rows[0])
                connection.execute(text(f'INSERT INTO "{name}" ({columns}) VALUES ({values})'), rows)


def _deletion_order(name: str) -> int:
    """Referencing tables first, so that each DELETE leaves no row pointing at a deleted one."""
    order = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    return order.index(name) if name in order else -1


def _empty_written_postgres_tables(connection, tables: list[str]) -> list[str]:
    """Empty the tables holding rows and restart the identities that moved on; the tables
    emptied. A TRUNCATE costs milliseconds a table however little it holds; a test writes to
    few of them, with a few rows each."""
    holding = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
    )
    written = set(connection.execute(text(holding)).scalars()) | set(_MIGRATED_ROWS)
    for name in sorted(written, key=_deletion_order):
        connection.execute(text(f'DELETE FROM "{name}"'))
    moved = connection.execute(
        text(
            "SELECT schemaname, sequencename FROM pg_sequences "
            "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
        )
    ).all()
    for schema, sequence in moved:
        connection.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))
    return [name for name in tables if name in written]


@pytest.fixture
def database(engine: Engine) -> Iterator[Engine]:
    """The test database, emptied after the test: what the test and the application commit is real."""
    yield engine
    empty_tables(engine)


@pytest.fixture
def connection(engine: Engine):
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(database: Engine) -> Iterator[Session]:
    with Session(bind=database, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at=datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, database: Engine, clock: FixedClock):
    """The application as ``create_app`` builds it, on the test database, with the test's clock."""
    application = create_app(settings)
    application.state.clock = clock
    yield application
    # The lifespan does this when a client ran it; an application used without one must not
    # keep its connections open either.
    with suppress(Exception):
        asyncio.run(application.state.change_counter.close())
    with suppress(Exception):
        asyncio.run(application.state.loop_writes.dispose())
    application.state.engine.dispose()


@pytest.fixture
def make_key(session: Session, clock: FixedClock, settings: Settings):
    """Make an API key in the test database: ``make_key("editor", "CHFT")`` -> the key."""

    def make(role: str, organisation_code: str | None = None, name: str | None = None) -> str:
        _, key = keys.create_key(
            session,
            actor=SYSTEM,
            name=name or f"test {role} {organisation_code or ''}".strip(),
            role=Role(role),
            organisation_code=organisation_code,
            secret=settings.key_secret,
            now=clock.now(),
        )
        return key

    return make


@pytest.fixture
def auth(make_key):
    """Authorization headers for a role: ``auth("editor", "CHFT")``."""

    def headers(role: str, organisation_code: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_key(role, organisation_code)}"}

    return headers


class Served(TestClient):
    """The application served to the test: one event loop and one lifespan, whatever the number of
    callers. It commits the test's ``session`` before each request and expires it after."""

    def __init__(self, app, session: Session) -> None:
        super().__init__(app, raise_server_exceptions=False)
        self.test_session = session

    def request(self, *args, **kwargs):
        self.test_session.commit()
        try:
            return super().request(*args, **kwargs)
        finally:
            self.test_session.expire_all()


class Client:
    """One caller of the served application, with headers of its own (an admin's key, none...)."""

    def __init__(self, served: Served, headers: dict[str, str] | None = None) -> None:
        self._served = served
        self.headers = httpx.Headers(headers or {})

    def request(self, method: str, url: str, *, headers=None, **kwargs):
        merged = httpx.Headers(self.headers)
        merged.update(headers or {})
        return self._served.request(method, url, headers=merged, **kwargs)

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def patch_fresh(self, url: str, *, json, headers: dict | None = None):
        """PATCH with If-Match set from a GET just before, as a careful client would."""
        current = self.get(url, headers=headers)
        if_match = {"If-Match": current.headers["etag"]} if "etag" in current.headers else {}
        return self.patch(url, json=json, headers={**(headers or {}), **if_match})


@pytest.fixture
def served(app, session) -> Iterator[Served]:
    with Served(app, session) as served:
        yield served


@pytest.fixture
def client(served, make_key) -> Client:
    """A client holding an admin key."""
    return Client(served, {"Authorization": f"Bearer {make_key('admin', name='test admin')}"})


@pytest.fixture
def anonymous(served) -> Client:
    return Client(served)


@pytest.fixture
def seeded(session: Session, clock: FixedClock):
    """The Kirklees review, loaded through the seed loader."""
    from seed.loader import load_seed

    return load_seed(session, now=clock.now())


def check_problem(
    response, status: int, *, code: str | None = None, detail_contains: str | None = None
) -> dict:
    """Assert ``response`` is an RFC 9457 problem document with ``status``; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"] == "about:blank"
    assert body.get("detail"), body
    assert body.get("request_id") == response.headers["x-request-id"]
    assert body.get("code"), body  # every problem has a stable code
    if code is not None:
        assert body.get("code") == code, body
    if detail_contains is not None:
        assert detail_contains in body["detail"], body["detail"]
    return body


def counted_calls(monkeypatch: pytest.MonkeyPatch, module, name: str) -> list[int]:
    """Count the calls of ``module.name`` for the rest of the test: one item a call."""
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def read_at_once(app, served: Served, path: str, headers, readers: int = 8) -> list[httpx.Response]:
    """``readers`` GETs of ``path`` sent together on the application's own event loop."""

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(*(client.get(path, headers=headers) for _ in range(readers)))

    return served.portal.call(together)


@pytest.fixture
def problem():
    return check_problem


@pytest.fixture
def kirklees(client, seeded) -> dict:
    """The seeded report as the API shows it, with its recommendations by ref."""
    report = client.get("/api/v1/reports", params={"slug": "kirklees-clas-2018"}).json()["items"][0]
    items = client.get(f"/api/v1/reports/{report['id']}/recommendations", params={"limit": 100}).json()[
        "items"
    ]
    return {"report": report, "recommendations": {r["ref"]: r for r in items}}


@dataclass(frozen=True)
class ReportPdf:
    path: Path
    data: bytes
    layout: object  # tests.fixtures.report_pdfs.Layout: the page of each recommendation and citing paragraph


@pytest.fixture(scope="session")
def report_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportPdf]:
    """The test PDFs (tests/fixtures/report_pdfs.py), made once per run: "kirklees", "borsetshire"."""
    from tests.fixtures.report_pdfs import borsetshire_pdf, kirklees_pdf

    folder = tmp_path_factory.mktemp("pdfs")
    made = {}
    for name, make in (("kirklees", kirklees_pdf), ("borsetshire", borsetshire_pdf)):
        data, layout = make()
        path = folder / f"{name}.pdf"
        path.write_bytes(data)
        made[name] = ReportPdf(path, data, layout)
    return made
