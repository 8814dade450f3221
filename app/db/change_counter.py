"""The change counter, read without leaving the event loop.

Every write makes an audit event, so the newest event's id says whether anything
changed: lists and summaries are tagged and cached by it, and every poll reads it.
Handing a read to a worker thread and back costs more than the read itself (a
millisecond on a small virtual machine, against tens of microseconds for the
query), so the counter is read on the loop: on SQLite as one indexed statement
straight through the driver, on PostgreSQL through psycopg's asynchronous
connections, from a small pool of their own.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from psycopg import AsyncConnection
from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.errors import DatabaseUnavailable
from app.services import audit


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


class CoalescedReads:
    """Reads asked for together share one query.

    A read waits for the first query that starts after it was asked for, never for one
    already under way (which may have missed a write committed just before): the reads asked
    for while a query runs gather, and one query starts for them all when it ends. Under a
    dashboard's concurrent polls one round trip answers many, and each still sees every write
    committed before it asked.
    """

    def __init__(self, query: Callable[[], Awaitable[int]]) -> None:
        self._query = query
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gathering: asyncio.Future[int] | None = None  # the next query's answer
        self._running: asyncio.Task | None = None

    async def read(self) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests make several): start afresh
            self._loop, self._gathering, self._running = loop, None, None
        answer = self._gathering
        if answer is None:
            answer = self._gathering = loop.create_future()
            # Failures reach every reader still waiting; none is left unread if all went away.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
            if self._running is None:
                self._start()
        return await asyncio.shield(answer)

    def _start(self) -> None:
        answer, self._gathering = self._gathering, None
        self._running = asyncio.get_running_loop().create_task(self._run(answer))

    async def _run(self, answer: asyncio.Future[int]) -> None:
        try:
            answer.set_result(await self._query())
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as exc:
            answer.set_exception(exc)
        finally:
            self._running = None
            if self._gathering is not None:
                self._start()


class PostgresChangeCounter:
    """Autocommit connections, so the read is one round trip, shared by the reads asked for
    together (``CoalescedReads``); the pool opens on first use (it needs the running loop) and
    replaces connections broken by an outage."""

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
        self._reads = CoalescedReads(self._query)

    async def read(self) -> int:
        return await self._reads.read()

    async def _query(self) -> int:
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
