"""Connections the event loop reads through, outside the application's pool.

Handing a one-statement read to a worker thread and back costs more than the read itself,
so the change counter and the quick reads run on the loop. Their connections are their own:
the loop must never wait for a pooled connection while worker threads hold them all.
"""

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Dialect, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.errors import DatabaseUnavailable


class SQLiteLoopConnection:
    """The driver's own connection, opened on first use. Each statement runs with no transaction
    around it (SQLite makes it its own, so it sees one state of the database), and in WAL mode it
    never waits for a writer. SQLAlchemy's checkout, execution context and result wrapping cost
    several times what SQLite takes to answer such a statement, so it goes straight to the driver."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": timeout}
        )
        self._connection: sqlite3.Connection | None = None

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    def fetch(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        try:
            if self._connection is None:
                self._connection = self._engine.raw_connection().driver_connection
            return self._connection.execute(sql, parameters).fetchall()
        except (sqlite3.Error, DBAPIError) as exc:
            raise DatabaseUnavailable() from exc

    def close(self) -> None:
        self._connection = None
        self._engine.dispose()


class PostgresLoopPool:
    """psycopg's asynchronous connections in autocommit, so a read is one round trip. The pool
    opens on first use (it needs the running loop) and replaces connections broken by an outage.
    ``settings``: server settings each connection takes for its session when it opens."""

    def __init__(
        self, url: str, *, size: int, timeout: float, name: str, settings: Mapping[str, str] | None = None
    ) -> None:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        session_settings = dict(settings or {})

        async def configure(connection: AsyncConnection) -> None:
            for setting, value in session_settings.items():
                await connection.execute("SELECT set_config(%s, %s, false)", (setting, value))

        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            configure=configure if session_settings else None,
            open=False,
            name=name,
        )
        self._opened = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection; an outage, while waiting for one or while using it, is ``DatabaseUnavailable``."""
        try:
            if not self._opened:
                self._opened = True
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection:
                yield connection
        except (PsycopgError, PoolTimeout) as exc:
            raise DatabaseUnavailable() from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
