"""A progress update is written on the event loop: on PostgreSQL always, on SQLite when the write
lock is free or soon is, and in a worker thread when it stays taken (the loop never waits for a
lock there). No write is lost either way."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from itertools import pairwise

import httpx
import pytest
from sqlalchemy import event, func
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.db.engine import LOOP_COMMITS_A_CHECKPOINT
from app.db.sessions import session_scope
from app.models import IdempotencyRecord, ProgressUpdate, Recommendation

API = "/api/v1"


@pytest.fixture
def sqlite_only(app):
    if app.state.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writes wait for its row locks on the event loop, at a round trip's cost")


def _progress_path(rec) -> str:
    return f"{API}/recommendations/{rec['id']}/progress-updates"


def _update(narrative: str = "n") -> dict:
    return {"author": "a", "narrative": narrative, "status": "in_progress", "organisation_code": "MYHT"}


def _post(client, rec, narrative: str, key: str):
    return client.post(_progress_path(rec), json=_update(narrative), headers={"Idempotency-Key": key})


def _threads_of_statements(engine, seen: list[tuple[int, str]]) -> Callable[[], None]:
    def on_statement(_connection, _cursor, statement, *_args) -> None:
        seen.append((threading.get_ident(), " ".join(statement.split()).upper()))

    event.listen(engine, "before_cursor_execute", on_statement)
    return lambda: event.remove(engine, "before_cursor_execute", on_statement)


def test_with_the_lock_free_the_write_its_key_and_answer_commit_on_the_event_loop(
    app, served, client, kirklees, session
):
    rec = kirklees["recommendations"]["1.1"]
    # The first write after start also deletes expired keys (work that grows with the traffic):
    # that one goes to a worker thread.
    assert _post(client, rec, "first", "k1").status_code == 201
    loop_thread = served.portal.call(threading.get_ident)
    seen: list[tuple[int, str]] = []
    stop_on_loop = _threads_of_statements(app.state.loop_writes.engine, seen)
    stop_in_threads = _threads_of_statements(app.state.engine, seen)
    try:
        response = _post(client, rec, "second", "k2")
    finally:
        stop_on_loop()
        stop_in_threads()
    assert response.status_code == 201, response.text
    written = [thread for thread, statement in seen if statement.startswith(("INSERT INTO", "WITH"))]
    assert any("INSERT INTO IDEMPOTENCY_RECORD" in statement for _, statement in seen), seen
    assert any("INSERT INTO PROGRESS_UPDATE" in statement for _, statement in seen), seen
    assert set(written) == {loop_thread}, seen
    session.rollback()
    assert session.exec(select(ProgressUpdate.narrative).order_by(ProgressUpdate.id)).all() == [
        "first",
        "second",
    ]
    replay = _post(client, rec, "second", "k2")
    assert replay.headers["idempotency-replayed"] == "true" and replay.json() == response.json()


@contextmanager
def _another_process_writing(app) -> Iterator[Callable[[], None]]:
    """SQLite's write lock held by a connection of its own, as another process's would be."""
    path = make_url(app.state.engine.url).database
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield lambda: connection.execute("COMMIT")
    finally:
        connection.close()


@contextmanager
def _a_worker_thread_writing(app) -> Iterator[Callable[[], None]]:
    """This process's write turn and SQLite's lock, held by a writer of the application's pool."""
    with session_scope(app.state.engine) as writer:
        writer.connection()  # BEGIN IMMEDIATE, after the turn
        yield writer.commit


@contextmanager
def _another_transaction_locking_the_row(app, recommendation_id: int) -> Iterator[Callable[[], None]]:
    """The recommendation's row locked by another transaction, as a writer elsewhere would
    hold it; released in three seconds at the latest, so that a loop that waited for it
    would stand still that long instead of forever."""
    with app.state.engine.connect() as connection:
        connection.execute(
            select(Recommendation.id).where(Recommendation.id == recommendation_id).with_for_update()
        )
        released = threading.Lock()

        def release() -> None:
            with released:
                if connection.in_transaction():
                    connection.commit()

        timer = threading.Timer(3, release)
        timer.start()
        try:
            yield release
        finally:
            timer.cancel()
            release()


def _write_while_held(app, served, rec, headers, holder: AbstractContextManager):
    """A progress update sent while ``holder`` holds what it needs, and a read of its
    recommendation 0.3 s later; then the holder lets go. Answers the read, whether the write
    was still waiting then, the write's answer, and the loop's longest pause meanwhile."""
    turns: list[float] = []

    async def ticking() -> None:
        while True:
            turns.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def scenario(release: Callable[[], None]):
        ticker = asyncio.create_task(ticking())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            write = asyncio.create_task(client.post(_progress_path(rec), json=_update(), headers=headers))
            await asyncio.sleep(0.3)
            read = await client.get(f"{API}/recommendations/{rec['id']}", headers=headers)
            waiting = not write.done()
            release()
            written = await write
            ticker.cancel()
            return read, waiting, written

    with holder as release:
        read, waiting, written = served.portal.call(scenario, release)
    return read, waiting, written, max(later - earlier for earlier, later in pairwise(turns))


@pytest.mark.parametrize("keyed", [True, False], ids=["with a key", "without"])
@pytest.mark.parametrize("holder", [_another_process_writing, _a_worker_thread_writing])
@pytest.mark.usefixtures("sqlite_only")
def test_with_the_lock_held_the_write_waits_in_a_thread_while_the_loop_answers_reads(
    app, served, client, kirklees, session, holder: Callable[..., AbstractContextManager], keyed: bool
):
    rec = kirklees["recommendations"]["1.1"]
    # The key's first use recorded, and expired keys deleted with the first write (both in
    # worker threads): what follows is the write alone.
    assert _post(client, rec, "first", "first").status_code == 201
    admin = dict(client.headers)
    headers = {**admin, "Idempotency-Key": "while-locked"} if keyed else admin
    read, waiting, written, longest_pause = _write_while_held(app, served, rec, headers, holder(app))
    assert read.status_code == 200
    assert waiting  # the write waited for the lock, and the loop answered meanwhile
    # A loop waiting for the lock would have stood still for the busy timeout (5 s).
    assert longest_pause < app.state.settings.sqlite_busy_timeout_ms / 1000 / 2, longest_pause
    assert written.status_code == 201, written.text
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 2
    assert session.exec(select(IdempotencyRecord.response_status)).all() == [201] * (1 + keyed)


@pytest.mark.parametrize("keyed", [True, False], ids=["with a key", "without"])
def test_on_postgresql_a_write_waits_for_a_row_lock_on_the_loop_while_it_answers_reads(
    app, served, client, kirklees, session, keyed: bool
):
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writes never wait for a lock on the loop")
    rec = kirklees["recommendations"]["1.1"]
    assert _post(client, rec, "first", "first").status_code == 201  # the purge's write, in a thread
    admin = dict(client.headers)
    headers = {**admin, "Idempotency-Key": "while-locked"} if keyed else admin
    holder = _another_transaction_locking_the_row(app, rec["id"])
    read, waiting, written, longest_pause = _write_while_held(app, served, rec, headers, holder)
    assert read.status_code == 200
    assert waiting  # the write waited for the row, and the loop answered meanwhile
    # A write blocking the loop while it waited would have stopped it until the holder's timer.
    assert longest_pause < 1, longest_pause
    assert written.status_code == 201, written.text
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 2
    assert session.exec(select(IdempotencyRecord.response_status)).all() == [201] * (1 + keyed)


@pytest.mark.usefixtures("sqlite_only")
def test_a_write_finding_the_turn_taken_for_a_moment_waits_for_it_on_the_loop(
    app, served, client, kirklees, session
):
    rec = kirklees["recommendations"]["1.1"]
    assert _post(client, rec, "first", "k1").status_code == 201  # the purge's write, in a thread
    loop_thread = served.portal.call(threading.get_ident)
    seen: list[tuple[int, str]] = []
    with session_scope(app.state.engine) as writer:
        writer.connection()  # this process's turn and SQLite's lock, held by a worker thread's writer
        letting_go = threading.Timer(0.03, writer.commit)
        stop_on_loop = _threads_of_statements(app.state.loop_writes.engine, seen)
        stop_in_threads = _threads_of_statements(app.state.engine, seen)
        letting_go.start()
        try:
            response = _post(client, rec, "second", "k2")
        finally:
            letting_go.join()
            stop_on_loop()
            stop_in_threads()
    assert response.status_code == 201, response.text
    # Not sent to a thread, where it would have held the turn against the loop's next writes.
    assert {thread for thread, statement in seen if statement.startswith("INSERT INTO")} == {loop_thread}
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 2


def _wal_frames(app, mode: str = "PASSIVE") -> int:
    """The frames in the WAL since it last started over."""
    with closing(
        sqlite3.connect(make_url(app.state.engine.url).database, isolation_level=None, timeout=5)
    ) as probe:
        return probe.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[1]


@pytest.mark.usefixtures("sqlite_only")
def test_the_loops_commits_leave_checkpoints_to_a_worker_thread_and_the_wal_stays_short(
    app, client, kirklees
):
    rec = kirklees["recommendations"]["1.1"]
    assert _post(client, rec, "first", "first").status_code == 201
    _wal_frames(app, "TRUNCATE")
    assert _post(client, rec, "measured", "measured").status_code == 201
    a_write = _wal_frames(app)
    for n in range(LOOP_COMMITS_A_CHECKPOINT * 4):
        assert _post(client, rec, f"update {n}", f"key-{n}").status_code == 201
    time.sleep(0.5)  # for the last checkpoint's thread
    with closing(app.state.loop_writes.engine.raw_connection()) as loop_connection:
        assert loop_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # the loop never syncs
    # At most the frames of the commits since the WAL last started over; with no checkpoints,
    # every write's.
    assert _wal_frames(app) <= 2 * LOOP_COMMITS_A_CHECKPOINT * a_write, a_write


def _loop_backend_pid(app, served) -> int:
    """The PostgreSQL backend of the connection the next loop write takes from the pool."""

    async def pid() -> int:
        return await app.state.loop_writes.run(
            lambda c: c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        )

    return served.portal.call(pid)


def test_on_postgresql_a_connection_the_server_closed_is_replaced_before_a_write_uses_it(
    app, served, client, kirklees
):
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connections are files")
    rec = kirklees["recommendations"]["1.1"]
    assert _post(client, rec, "first", "first").status_code == 201  # the purge's write, in a thread
    assert _post(client, rec, "second", "second").status_code == 201  # on the loop: its pool holds one
    closed = _loop_backend_pid(app, served)
    with app.state.engine.connect() as connection:  # as a restart or an idle timeout would
        assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({closed})").scalar()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and closed in _backend_pids(app):
        time.sleep(0.05)
    time.sleep(0.1)  # the loop reads the server's goodbye meanwhile
    # No pre-ping asks the server first: a write on the closed connection would fail.
    written = _post(client, rec, "after", "after")
    assert written.status_code == 201, written.text
    assert _loop_backend_pid(app, served) != closed


def _backend_pids(app) -> set[int]:
    with app.state.engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT pid FROM pg_stat_activity").scalars())


# What a progress update that restates a status sends before its COMMIT: each statement
# is a round trip, and on the event loop each costs the API about a sixth of a millisecond
# (docs/benchmarks.md, sixteenth round).
STATEMENTS_OF_A_PROGRESS_UPDATE = {
    "postgresql": [
        # locked, with its report's dates and its owners (read again only if the lock was waited for)
        "SELECT recommendation.id, recommendation.report_id,",
        "WITH owner_row AS",  # the update, with its owner's and its recommendation's statuses
        # the feed's lock, the audit event and the scopes moved on, the key with its answer
        "WITH feed AS",
    ],
    "sqlite": [
        "BEGIN IMMEDIATE",  # the write lock (PostgreSQL's BEGIN is asyncpg's, not a cursor's)
        "SELECT recommendation.id, recommendation.report_id,",
        "INSERT INTO progress_update",
        "UPDATE recommendation_owner SET",
        "UPDATE recommendation SET",
        "INSERT INTO audit_event",
        "INSERT INTO scope_version",
        "INSERT INTO idempotency_record",
    ],
}


def test_a_progress_update_on_the_loop_takes_one_statement_for_each_thing_it_reads_or_writes(
    app, client, kirklees, session
):
    rec = kirklees["recommendations"]["1.1"]
    assert _post(client, rec, "first", "first").status_code == 201  # the purge's write, in a thread
    seen: list[str] = []

    def on_statement(_connection, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.loop_writes.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        written = _post(client, rec, "again", "again")
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert written.status_code == 201, written.text
    expected = STATEMENTS_OF_A_PROGRESS_UPDATE[app.state.engine.dialect.name]
    assert len(seen) == len(expected), seen
    for statement, beginning in zip(seen, expected, strict=True):
        assert statement.startswith(beginning), (statement, beginning)
    assert "INSERT INTO idempotency_record" in seen[-1]
    session.rollback()
    assert session.exec(select(ProgressUpdate.narrative).order_by(ProgressUpdate.id)).all() == [
        "first",
        "again",
    ]
