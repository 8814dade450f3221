"""The change counter, read without leaving the event loop.

Every write makes an audit event, so the newest event's id says whether anything
changed: lists and summaries are tagged and cached by it, and every poll reads it.
Handing a read to a worker thread and back costs more than the read itself (a
millisecond on a small virtual machine, against tens of microseconds for the
query), so the counter is read on the loop: on SQLite as one indexed statement
straight through the driver, on PostgreSQL through psycopg's asynchronous
connections, from a small pool of their own.
"""

from typing import Protocol

from psycopg import AsyncConnection
from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.errors import ServiceUnavailable
from app.services import audit


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    headers = {"Retry-After": "5"}

    def __init__(self) -> None:
        super().__init__("The database is unavailable; try again shortly.")


class ChangeCounter(Protocol):
    async def read(self) -> int: ...

    async def close(self) -> None: ...


class SQLiteChangeCounter:
    """One statement with no transaction around it (SQLite makes it its own): a few tens of
    microseconds, in WAL mode never waiting for a writer.

    It has a connection of its own, outside the application's pool: the event loop must never
    wait for a pooled connection while worker threads hold them all."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": timeout}
        )

    async def read(self) -> int:
        try:
            with self._engine.connect() as connection:
                return audit.read_change_counter(connection)
        except DBAPIError as exc:
            raise DatabaseUnavailable() from exc

    async def close(self) -> None:
        self._engine.dispose()


class PostgresChangeCounter:
    """Autocommit connections, so the read is one round trip; the pool opens on first use
    (it needs the running loop) and replaces connections broken by an outage."""

    def __init__(self, url: str, *, size: int, timeout: float) -> None:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            open=False,
            name="change-counter",
        )
        self._opened = False

    async def read(self) -> int:
        try:
            if not self._opened:
                self._opened = True
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection:
                return await _read(connection)
        except (PsycopgError, PoolTimeout) as exc:
            raise DatabaseUnavailable() from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()


async def _read(connection: AsyncConnection) -> int:
    cursor = await connection.execute(audit.CHANGE_COUNTER_SQL)
    row = await cursor.fetchone()
    return (row[0] if row else None) or 0


def create_change_counter(engine: Engine, *, pool_size: int = 4, timeout: float = 5.0) -> ChangeCounter:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        return PostgresChangeCounter(url, size=pool_size, timeout=timeout)
    # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
    return SQLiteChangeCounter(url, timeout=min(timeout, 1.0))
