"""The engine.

SQLite is the embedded default: WAL so readers never wait for the writer,
foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for transactions that
will write, so two writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade.

Writers of one process also queue on a lock of the process before they ask
SQLite for its write lock (writer_queue.py).

A write of a few rows may run on the event loop instead of a worker thread
(``app.db.loop_writes``); on SQLite through ``create_sqlite_loop_engine``, whose connection
never waits for a lock.
"""

import asyncio
import logging
import os
import sqlite3
from contextlib import suppress
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool, StaticPool

from app.config import Settings
from app.db.sessions import WRITE_OPTION
from app.db.writer_queue import writer_queue

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5  # PostgreSQL's connections: an outage is answered, not waited for

# Commits on the event loop between two checkpoints: about the 1,000 pages at which SQLite
# would make one itself, for a progress update.
LOOP_COMMITS_A_CHECKPOINT = 64

# The connection class of each SQLite engine's pool, whose write turn its loop writes share.
_CONNECTION_CLASSES: "WeakKeyDictionary[Engine, type[sqlite3.Connection]]" = WeakKeyDictionary()


class WriteTurnTaken(Exception):
    """A write on the event loop found the write lock held: by a writer in a worker thread of
    this process, or by another process. The loop does not wait; the write goes to a thread."""


def normalise_database_url(url: str) -> str:
    """Let operators write ``postgresql://``; we always drive it with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(settings: Settings, *, pooled: bool = True) -> Engine:
    """The engine for ``settings``; ``pooled=False`` for one-shot commands."""
    url = normalise_database_url(settings.database_url)
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, settings)
    if not pooled:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    else:
        engine = create_engine(
            url, **postgres_pool_options(settings), connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _without_jit)
    return engine


def postgres_pool_options(settings: Settings) -> dict:
    """The pool of a PostgreSQL engine serving requests."""
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
    }


def _without_jit(dbapi_connection, _record) -> None:
    """PostgreSQL's JIT compiles any query it estimates as costly, and the as-of queries'
    CASEs over correlated subqueries are estimated as very costly even when the stored
    statuses answer them: compiling took over a second of a 10 ms query."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _create_private_file(url: str) -> None:
    """Create the database file readable by its owner only, before SQLite creates it 0644
    (its -wal and -shm files take the database file's permissions)."""
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        with suppress(FileNotFoundError):  # no such directory: SQLite says so when it connects
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _create_sqlite_engine(url: str, settings: Settings) -> Engine:
    _create_private_file(url)
    busy_timeout_ms = settings.sqlite_busy_timeout_ms
    timeout = busy_timeout_ms / 1000
    factory = writer_queue(timeout)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"check_same_thread": False, "timeout": timeout, "factory": factory},
    )
    _CONNECTION_CLASSES[engine] = factory
    event.listen(engine, "connect", lambda dbapi_connection, _: _configure(dbapi_connection, busy_timeout_ms))

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        options = connection.get_execution_options()
        if not options.get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        dbapi_connection.wait_for_write_turn()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            dbapi_connection.end_write_turn()
            raise

    return engine


def _configure(connection: sqlite3.Connection, busy_timeout_ms: int, *, checkpoints: bool = True) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if not checkpoints:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def create_sqlite_loop_engine(engine: Engine) -> Engine | None:
    """For a SQLite ``engine``, one connection for writes run on the event loop; None for
    PostgreSQL.

    A progress update costs SQLite about a millisecond of the writer's own work. In a worker
    thread, every statement gives the GIL up and waits to get it back from the event loop
    while holding the write lock, and the writers behind it queue for that lock: under reads,
    the lock was held several times as long as the write's own work (docs/benchmarks.md). On
    the loop, the write holds the GIL from ``BEGIN IMMEDIATE`` to ``COMMIT``.

    Every transaction on it writes. It takes the write turn of ``engine``'s writers only if it
    is free, and SQLite's write lock with no busy timeout: when either is held it raises
    ``WriteTurnTaken`` before anything is written, and the loop never waits. Its commits do not
    checkpoint the WAL: a worker thread does (``_WalCheckpoints``)."""
    factory = _CONNECTION_CLASSES.get(engine)
    if factory is None:
        return None
    loop_engine = create_engine(
        engine.url,
        poolclass=StaticPool,
        connect_args={"check_same_thread": False, "timeout": 0, "factory": factory},
    )
    event.listen(
        loop_engine, "connect", lambda dbapi_connection, _: _configure(dbapi_connection, 0, checkpoints=False)
    )
    event.listen(loop_engine, "commit", _WalCheckpoints(engine, LOOP_COMMITS_A_CHECKPOINT).after_commit)

    @event.listens_for(loop_engine, "begin")
    def _on_begin(connection) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.take_free_write_turn():
            raise WriteTurnTaken()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:  # "database is locked": another process writes
            dbapi_connection.end_write_turn()
            raise WriteTurnTaken() from exc

    return loop_engine


class _WalCheckpoints:
    """The checkpoints the event loop's commits would make, made in a worker thread.

    SQLite checkpoints in the committing connection once the WAL holds 1,000 pages, and with
    ``synchronous=NORMAL`` it syncs the files then: ten milliseconds and more, measured, that
    the loop would stand still for. Here a passive checkpoint copies the pages while the loop
    goes on writing; then, with this process's writers held back by the write turn, a restart
    checkpoint copies the few written since and waits for the readers of older pages, so that
    the next write starts the WAL over instead of growing it."""

    def __init__(self, engine: Engine, every: int) -> None:
        self._engine, self._every = engine, every
        self._commits = 0
        self._running = False

    def after_commit(self, _connection) -> None:
        self._commits += 1
        if self._commits >= self._every and not self._running:
            self._commits, self._running = 0, True
            asyncio.get_running_loop().run_in_executor(None, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            connection = self._engine.raw_connection()
            try:
                driver = connection.driver_connection
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
                driver.wait_for_write_turn()
                try:
                    driver.execute("PRAGMA wal_checkpoint(RESTART)")
                finally:
                    driver.end_write_turn()
            finally:
                connection.close()
        except Exception:  # the next one will do; SQLite checkpoints at the latest when it closes
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._running = False
