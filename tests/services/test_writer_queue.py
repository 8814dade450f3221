"""SQLite writers of one process take turns on a lock of the process (app.db.writer_queue).

SQLite's own busy handler sleeps between tries, so writers that met on SQLite's
lock would mostly sleep; here a waiting writer must not even have asked SQLite
(no BEGIN IMMEDIATE sent) until the one before it has committed, rolled back or
closed its connection.
"""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from app.config import Settings
from app.db.engine import create_db_engine
from app.db.migrations import upgrade
from app.db.sessions import WRITE_OPTION, session_scope
from app.domain.access import SYSTEM
from app.domain.status import Role
from app.main import create_app
from app.models import ApiKey
from app.services import keys

WAIT = 10  # seconds: only a broken queue ever waits this long


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(Settings(database_url=f"sqlite:///{tmp_path / 'queue.db'}"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO tally VALUES (0)"))
    yield engine
    engine.dispose()


def _writer_statements(engine: Engine) -> list[str]:
    """Every BEGIN IMMEDIATE sent to SQLite, in order, from any thread."""
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args) -> None:
        if statement == "BEGIN IMMEDIATE":
            sent.append(threading.current_thread().name)

    return sent


def _start_writer(engine: Engine, name: str) -> threading.Thread:
    def write() -> None:
        with session_scope(engine) as session:
            session.exec(text("UPDATE tally SET n = n + 1"))
            session.commit()

    thread = threading.Thread(target=write, name=name)
    thread.start()
    return thread


@pytest.mark.parametrize("finish", ["commit", "rollback", "close", "invalidate"])
def test_a_waiting_writer_asks_sqlite_only_after_the_turn_before_it_ends(sqlite_engine, finish):
    sent = _writer_statements(sqlite_engine)
    first = sqlite_engine.connect().execution_options(**{WRITE_OPTION: True})
    first.begin()
    first.execute(text("UPDATE tally SET n = n + 10"))

    second = _start_writer(sqlite_engine, "second")
    second.join(timeout=0.3)
    assert second.is_alive() and sent == ["MainThread"], "the second writer went to SQLite's lock"

    if finish == "invalidate":
        first.invalidate()
    elif finish == "close":
        first.close()
    else:
        getattr(first, finish)()
    second.join(timeout=WAIT)
    assert not second.is_alive()
    assert sent == ["MainThread", "second"]
    first.close()
    with sqlite_engine.connect() as connection:
        expected = 11 if finish == "commit" else 1
        assert connection.execute(text("SELECT n FROM tally")).scalar_one() == expected


def test_readers_do_not_wait_for_the_writer(sqlite_engine):
    with sqlite_engine.connect().execution_options(**{WRITE_OPTION: True}) as writer:
        writer.begin()
        writer.execute(text("UPDATE tally SET n = 5"))
        with Session(bind=sqlite_engine) as reader:
            assert reader.exec(text("SELECT n FROM tally")).one()[0] == 0  # WAL: the last commit


def test_many_writers_each_count_once(sqlite_engine):
    threads = [_start_writer(sqlite_engine, f"writer-{i}") for i in range(24)]
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in threads)
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM tally")).scalar_one() == 24


@pytest.fixture
def served(tmp_path: Path):
    """The app on a SQLite file of its own, with an admin key last used long ago."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'served.db'}", sqlite_busy_timeout_ms=200, secret_key="k" * 40
    )
    upgrade(settings.database_url)
    engine = create_db_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        api_key, secret = keys.create_key(
            session,
            actor=SYSTEM,
            name="writer",
            role=Role.ADMIN,
            organisation_code=None,
            secret=settings.key_secret,
            now=LONG_AGO,
        )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client, engine, api_key.id
    engine.dispose()


LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NEW_ORGANISATION = {"code": "QUEUE", "name": "Queue test trust", "kind": "nhs_trust"}


def test_a_write_request_with_a_key_not_yet_cached_records_its_use(served):
    """The key is looked up in a read of its own: had the request's write transaction
    begun for it, recording the key's use on another connection would have to wait for
    that transaction, which cannot end before the request does."""
    client, engine, key_id = served
    response = client.post("/api/v1/organisations", json=NEW_ORGANISATION)
    assert response.status_code == 201, response.text
    with Session(engine) as session:
        last_used = session.get(ApiKey, key_id).last_used_at
    assert last_used is not None and last_used.replace(tzinfo=UTC) > LONG_AGO


def test_a_database_locked_by_another_process_is_a_503_even_for_an_idempotent_post(served):
    """The Idempotency-Key is claimed in the middleware, outside FastAPI's handlers."""
    client, engine, _ = served
    client.get("/api/v1/organisations")  # the key is checked and cached before the lock
    other_process = create_db_engine(Settings(database_url=str(engine.url), sqlite_busy_timeout_ms=200))
    with other_process.connect().execution_options(**{WRITE_OPTION: True}) as holder:
        holder.begin()
        response = client.post(
            "/api/v1/organisations", json=NEW_ORGANISATION, headers={"Idempotency-Key": "locked-1"}
        )
    other_process.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "database_unavailable"
    # Nothing was kept: the same key works once the database is free.
    retry = client.post(
        "/api/v1/organisations", json=NEW_ORGANISATION, headers={"Idempotency-Key": "locked-1"}
    )
    assert retry.status_code == 201, retry.text
