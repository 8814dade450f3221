"""The change counter and the scope versions, read without leaving the event loop.

Every write makes an audit event, so the newest event's id says whether anything
changed; each write also moves the scopes it touches on to its event's id
(``app.domain.scopes``). Lists and summaries are tagged and cached by the largest
version among the scopes they read, and every poll reads it.
Handing a read to a worker thread and back costs more than the read itself (a
millisecond on a small virtual machine, against tens of microseconds for the
query), so the counter is read on the loop: on SQLite as one indexed statement
straight through the driver, on PostgreSQL through psycopg's asynchronous
connections, from a small pool of their own.
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from typing import Protocol

from psycopg import AsyncConnection
from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.domain.scopes import PORTFOLIO
from app.errors import DatabaseUnavailable
from app.services import change_scopes

Versions = dict[str, int]
EVERY_WRITE = (PORTFOLIO,)


class ChangeCounter(Protocol):
    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        """The tag of an answer reading ``scopes``: it moves whenever a write touching any of
        them commits. Left out: the change counter (the newest audit event id)."""
        ...

    async def close(self) -> None: ...


class SQLiteChangeCounter:
    """One statement with no transaction around it (SQLite makes it its own): a few tens of
    microseconds, in WAL mode never waiting for a writer.

    It has a connection of its own, outside the application's pool: the event loop must never
    wait for a pooled connection while worker threads hold them all. The statement goes straight
    to the driver's connection: SQLAlchemy's checkout, execution context and result wrapping
    cost several times what SQLite takes to answer, on every poll."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": timeout}
        )
        self._connection: sqlite3.Connection | None = None

    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        scopes = frozenset(scopes)
        names = change_scopes.asked(scopes)
        try:
            rows = self._driver().execute(_sqlite_versions(len(names)), names).fetchall()
        except (sqlite3.Error, DBAPIError) as exc:
            raise DatabaseUnavailable() from exc
        return change_scopes.tag(scopes, rows)

    def _driver(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._engine.raw_connection().driver_connection
        return self._connection

    async def close(self) -> None:
        self._connection = None
        self._engine.dispose()


@lru_cache(maxsize=16)
def _sqlite_versions(count: int) -> str:
    return change_scopes.versions_sql(count, dialect="sqlite")


class CoalescedReads:
    """Reads asked for together share one query.

    A read waits for the first query that starts after it was asked for, never for one
    already under way (which may have missed a write committed just before): the reads asked
    for while a query runs gather, and one query starts for them all when it ends, for all the
    scopes they asked about. Under a dashboard's concurrent polls one round trip answers many,
    and each still sees every write committed before it asked.
    """

    def __init__(self, query: Callable[[tuple[str, ...]], Awaitable[Versions]]) -> None:
        self._query = query
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gathering: asyncio.Future[Versions] | None = None  # the next query's answer
        self._wanted: set[str] = set()  # the scopes the next query reads
        self._running: asyncio.Task | None = None

    async def read(self, names: Iterable[str]) -> Versions:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests make several): start afresh
            self._loop, self._gathering, self._running = loop, None, None
        answer = self._gathering
        if answer is None:
            answer = self._gathering = loop.create_future()
            self._wanted = set()
            # Failures reach every reader still waiting; none is left unread if all went away.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._wanted.update(names)
        if self._running is None:
            self._start()
        return await asyncio.shield(answer)

    def _start(self) -> None:
        answer, self._gathering = self._gathering, None
        self._running = asyncio.get_running_loop().create_task(self._run(answer, tuple(sorted(self._wanted))))

    async def _run(self, answer: asyncio.Future[Versions], names: tuple[str, ...]) -> None:
        try:
            answer.set_result(await self._query(names))
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

    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        scopes = frozenset(scopes)
        versions = await self._reads.read(change_scopes.asked(scopes))
        return change_scopes.tag(scopes, versions.items())

    async def _query(self, names: tuple[str, ...]) -> Versions:
        try:
            if not self._opened:
                self._opened = True
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection:
                return await _read(connection, names)
        except (PsycopgError, PoolTimeout) as exc:
            raise DatabaseUnavailable() from exc

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()


_POSTGRES_VERSIONS = change_scopes.versions_sql(0, dialect="postgresql")


async def _read(connection: AsyncConnection, names: tuple[str, ...]) -> Versions:
    cursor = await connection.execute(_POSTGRES_VERSIONS, (list(names),))
    return {scope: version or 0 for scope, version in await cursor.fetchall()}


def create_change_counter(engine: Engine, *, pool_size: int = 4, timeout: float = 5.0) -> ChangeCounter:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        return PostgresChangeCounter(url, size=pool_size, timeout=timeout)
    # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
    return SQLiteChangeCounter(url, timeout=min(timeout, 1.0))
