"""Engine and sessions.

SQLite is the embedded default: WAL so readers never wait for the writer,
foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for transactions that
will write, so two writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade.

Writers of one process also queue on a lock of the process before they ask
SQLite for its write lock. SQLite's busy handler polls, sleeping up to 100 ms
between tries, so under concurrent writes most of a writer's wait would be
sleep while the database stands idle; a lock hands over the moment the last
writer commits. The busy timeout still arbitrates between processes.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from app.config import Settings, get_settings

WRITE_OPTION = "rectrack_writes"


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
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    else:
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args={"connect_timeout": 5},
        )
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _without_jit)
    return engine


def _without_jit(dbapi_connection, _record) -> None:
    """PostgreSQL's JIT compiles any query it estimates as costly, and the as-of queries'
    CASEs over correlated subqueries are estimated as very costly even when the stored
    statuses answer them: compiling took over a second of a 10 ms query."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _writer_queue(timeout: float) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose write transactions take turns on one process-wide lock.

    The lock is taken before ``BEGIN IMMEDIATE`` and given back once the transaction has
    committed or rolled back (or the connection closed), never before.
    """
    lock = threading.Lock()

    class WriterQueueConnection(sqlite3.Connection):
        holds_write_turn = False

        def wait_for_write_turn(self) -> None:
            """Past the timeout, go on without a turn: SQLite's own busy timeout then decides."""
            if not self.holds_write_turn:
                self.holds_write_turn = lock.acquire(timeout=timeout)

        def end_write_turn(self) -> None:
            if self.holds_write_turn:
                self.holds_write_turn = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.end_write_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.end_write_turn()

    return WriterQueueConnection


def _create_sqlite_engine(url: str, settings: Settings) -> Engine:
    busy_timeout_ms = settings.sqlite_busy_timeout_ms
    timeout = busy_timeout_ms / 1000
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"check_same_thread": False, "timeout": timeout, "factory": _writer_queue(timeout)},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

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


@lru_cache
def get_engine() -> Engine:
    return create_db_engine(get_settings())


def writers(engine: Engine) -> Engine:
    """``engine`` for transactions that will write: on SQLite they take the write lock up front."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def session_scope(engine: Engine | None = None, *, writes: bool = True) -> Iterator[Session]:
    """A session on its own connection; the caller commits.

    ``writes`` marks the transaction as a writer so that SQLite takes the
    write lock up front.
    """
    with (engine or get_engine()).connect() as connection:
        if writes:
            connection = connection.execution_options(**{WRITE_OPTION: True})
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session
