"""Writes run on the event loop instead of a worker thread (``app.api.writes.write_in_one_hop``).

A write in a worker thread hands the GIL to the event loop at every statement and waits to get
it back while the loop serves reads: under reads, a write took several times its own work
(docs/benchmarks.md). On the loop, the write's Python runs without that contest.

- SQLite: on the loop's own thread through one connection that never waits for a lock
  (``create_sqlite_loop_engine``): when the lock stays taken, ``WriteTurnTaken`` sends the
  write to a thread instead.
- PostgreSQL: the same synchronous service code in a greenlet on the loop, through asyncpg's
  connections (SQLAlchemy's asyncio extension): at each round trip the loop answers other
  requests until the database has answered. asyncpg, where the application's pool uses
  psycopg: the same write cost about 2.7 ms of the API's CPU through it and about 4.3 through
  psycopg's asynchronous connections (docs/benchmarks.md, thirteenth round).
"""

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVar

import asyncpg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from app.config import Settings
from app.db.engine import WriteTurnTaken, create_sqlite_loop_engine, postgres_pool_options
from app.db.loop_connections import ASYNCPG_OUTAGES, asyncpg_connect_args
from app.errors import DatabaseUnavailable

T = TypeVar("T")


class LoopWrites(Protocol):
    engine: Engine  # the synchronous engine the writes run on: for its events and connections

    async def run(self, write: Callable[[Connection], T]) -> T:
        """``write`` on a connection of its own, which it commits; on SQLite ``WriteTurnTaken``
        when the write lock stays held, nothing written."""
        ...

    async def dispose(self) -> None: ...


# How long the loop tries again for SQLite's write turn, between other requests, before the
# write goes to a worker thread: 100 ms, many times a writer's turn.
TURN_RETRY_DELAYS_S = (0.001,) * 10 + (0.005,) * 18


class SqliteLoopWrites:
    """A write taken by a writer of this process in a worker thread is free again within
    milliseconds. A loop write that went to a thread whenever it found the turn taken kept
    the next ones there: each held the turn in its thread, slowed by the GIL, while the
    loop's writes found it taken and followed, for whole runs of (f) and (g) (docs/benchmarks.md,
    thirteenth round). So the loop tries again for a while before it gives the write up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, write: Callable[[Connection], T]) -> T:
        for delay in TURN_RETRY_DELAYS_S:
            try:
                return self._run(write)
            except WriteTurnTaken:
                await asyncio.sleep(delay)  # nothing written; other requests meanwhile
        return self._run(write)

    def _run(self, write: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection:  # closing rolls back whatever did not commit
            return write(connection)

    async def dispose(self) -> None:
        self.engine.dispose()


class PostgresLoopWrites:
    def __init__(self, engine: AsyncEngine) -> None:
        self._async_engine = engine
        self.engine = engine.sync_engine

    async def run(self, write: Callable[[Connection], T]) -> T:
        async with self._async_engine.connect() as connection:  # closing rolls back what did not commit
            return await connection.run_sync(write)

    async def dispose(self) -> None:
        await self._async_engine.dispose()


def create_loop_writes(engine: Engine, settings: Settings) -> LoopWrites:
    """The writes on the event loop beside ``engine``, on the same database."""
    sqlite_engine = create_sqlite_loop_engine(engine)
    if sqlite_engine is not None:
        return SqliteLoopWrites(sqlite_engine)
    dsn, connect_args = asyncpg_connect_args(engine.url)

    async def connect() -> asyncpg.Connection:
        try:
            return await asyncpg.connect(dsn, **connect_args)
        except ASYNCPG_OUTAGES as exc:  # answered as an outage, as psycopg's OperationalError is elsewhere
            raise DatabaseUnavailable() from exc

    async_engine = create_async_engine(
        engine.url.set(drivername="postgresql+asyncpg"),
        async_creator=connect,
        **(postgres_pool_options(settings) | {"pool_pre_ping": False}),
    )
    event.listen(async_engine.sync_engine, "checkout", _replace_if_closed)
    return PostgresLoopWrites(async_engine)


def _replace_if_closed(_dbapi_connection, entry: ConnectionPoolEntry, _proxy) -> None:
    """A pooled connection the server has closed is replaced before a write uses it, with no
    round trip: asyncpg's connection is a transport of the event loop, which sees the server
    close it (a restart, a terminated backend, an idle timeout) while it waits in the pool.

    The pool's pre-ping asks the server instead, in a transaction of its own (BEGIN, a query,
    ROLLBACK): three round trips before every write, about a third of a millisecond of the
    API's CPU (docs/benchmarks.md, sixteenth round). What only the ping would catch, a
    connection lost without the server closing it, fails its write's first statement: that
    write is answered 503 and the pool replaces its connections (and ``pool_recycle`` bounds
    how long one is kept)."""
    if entry.driver_connection is None or entry.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")  # the pool connects afresh
