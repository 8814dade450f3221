"""Connections the event loop reads through, outside the application's pool.

Handing a one-statement read to a worker thread and back costs more than the read itself,
so the change counter and the quick reads run on the loop. Their connections are their own:
the loop must never wait for a pooled connection while worker threads hold them all.
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from psycopg import AsyncConnection
from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import URL, Dialect, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.db.engine import CONNECT_TIMEOUT_S
from app.errors import DatabaseUnavailable

# What asyncpg raises when the server cannot be reached or goes away: refused, timed out,
# turned away (starting up, shutting down, too many clients), or closed under a statement.
ASYNCPG_OUTAGES = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


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
    opens on first use (it needs the running loop) and replaces connections broken by an outage."""

    def __init__(self, url: str, *, size: int, timeout: float, name: str) -> None:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
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


class PostgresLoopConnection:
    """One asyncpg connection of its own, in autocommit, so a read is one round trip; its reads
    run one at a time. It opens on first use, and afresh after an outage or on another event loop.

    asyncpg, where ``PostgresLoopPool`` has psycopg: the same one-statement read of the scope
    versions cost the API 0.09 to 0.11 ms of CPU through it, and 0.19 through the pool
    (``bench/driver_reads.py``; docs/benchmarks.md, nineteenth round). ``settings``: server
    settings the connection takes for its session."""

    def __init__(self, url: str, *, timeout: float, settings: Mapping[str, str] | None = None) -> None:
        self._dsn, self._connect_args = asyncpg_connect_args(make_url(url))
        self._connect_args["timeout"] = timeout
        self._connect_args["server_settings"] |= dict(settings or {})
        self._timeout = timeout
        self._connection: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = asyncio.Lock()

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """``sql``'s rows; an outage, while connecting or reading, is ``DatabaseUnavailable``."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests make several): start afresh
            self._drop()
            self._loop, self._turn = loop, asyncio.Lock()
        async with self._turn:
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await asyncpg.connect(self._dsn, **self._connect_args)
                return await self._connection.fetch(sql, *arguments, timeout=self._timeout)
            except ASYNCPG_OUTAGES as exc:
                self._drop()  # whatever state it is in, the next read connects afresh
                raise DatabaseUnavailable() from exc

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):  # its event loop may be closed already
                connection.terminate()

    async def close(self) -> None:
        if self._connection is not None and self._loop is asyncio.get_running_loop():
            with suppress(*ASYNCPG_OUTAGES):
                await self._connection.close(timeout=self._timeout)
        self._drop()


def asyncpg_connect_args(url: URL) -> tuple[str, dict]:
    """asyncpg's DSN and arguments for the libpq URL ``url`` names.

    asyncpg reads a libpq URL itself (hosts, ``sslmode`` and the other TLS parameters, a
    service, a password file) and sends whatever else its query holds as server settings
    (``application_name``). Two of libpq's it does not know: ``connect_timeout``, its own
    ``timeout`` here, and ``options``, whose ``-c name=value`` become server settings."""
    query = dict(url.query)
    server_settings = {"jit": "off"}  # as the synchronous engine's connections (app.db.engine)
    server_settings |= _settings_in_libpq_options(str(query.pop("options", "")))
    timeout = float(str(query.pop("connect_timeout", CONNECT_TIMEOUT_S)))
    dsn = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
    return dsn, {"timeout": timeout, "server_settings": server_settings}


def _settings_in_libpq_options(options: str) -> dict[str, str]:
    """``-c a=1 -cb=2 --c=3`` as ``{"a": "1", "b": "2", "c": "3"}``; a backslash keeps the
    character after it, a space included, as libpq reads them."""
    words: list[str] = []
    word: list[str] = []
    escaped = False
    for character in options:
        if escaped:
            word.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(character)
    if word:
        words.append("".join(word))
    settings: dict[str, str] = {}
    tokens = iter(words)
    for token in tokens:
        if token == "-c":
            setting = next(tokens, "")
        elif token.startswith(("-c", "--")):
            setting = token[2:]
        else:
            raise ValueError(f"libpq option {token!r} is not -c name=value")
        name, separator, value = setting.partition("=")
        if not (name and separator):
            raise ValueError(f"libpq option {token} {setting!r} is not -c name=value")
        settings[name.replace("-", "_")] = value
    return settings
