"""The engine.

SQLite is the embedded default: WAL so readers never wait for the writer,
foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for transactions that
will write, so two writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade.

Writers of one process also queue on a lock of the process before they ask
SQLite for its write lock (writer_queue.py).
"""

import os
from contextlib import suppress

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db.sessions import WRITE_OPTION
from app.db.writer_queue import writer_queue


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
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        connect_args={"check_same_thread": False, "timeout": timeout, "factory": writer_queue(timeout)},
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
