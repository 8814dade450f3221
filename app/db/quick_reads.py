"""Reads that are one indexed statement, run where they cost least.

Handing a read to a worker thread and back costs more than such a read itself (see
``change_counter``). On SQLite they run on the event loop, on a connection of their own
outside the application's pool (the loop must never wait for a pooled connection while worker
threads hold them all), with no transaction around the statement: SQLite makes it its own, so
it sees one state of the database, and in WAL mode it never waits for a writer. The statement
goes straight to the driver's connection, compiled once, and its columns are read back by
their types, as SQLAlchemy reads them: SQLAlchemy's checkout, execution context and result
wrapping cost several times what SQLite takes to answer. On PostgreSQL the statement is a
network round trip, awaited on the loop through psycopg's asynchronous connections (in
autocommit: one round trip), from a small pool of their own.
"""

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg import Error as PsycopgError
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Dialect, Engine, Select, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from app.errors import DatabaseUnavailable


class QuickReads(Protocol):
    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        """The row ``statement`` selects (it must not write), with attributes named after its
        columns; None when there is none."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class _Compiled:
    """A statement as the driver takes it, and how to read its rows back."""

    sql: str
    fixed: dict[str, Any]  # the parameters the statement itself holds
    order: tuple[str, ...]  # the parameters' positions, for a driver that takes them in order
    row: Callable[..., Any]
    processors: tuple[Callable[[Any], Any] | None, ...]  # each column's, as SQLAlchemy's result applies

    @classmethod
    def of(cls, statement: Select, dialect: Dialect) -> "_Compiled":
        compiled = statement.compile(dialect=dialect)
        columns = statement.selected_columns
        return cls(
            sql=str(compiled),
            fixed=compiled.params,
            order=tuple(compiled.positiontup or ()),
            row=namedtuple("Row", [column.key for column in columns])._make,
            processors=tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
        )

    def parameters(self, given: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        values = {**self.fixed, **given}
        return [values[name] for name in self.order] if self.order else values

    def read(self, values: tuple) -> Any:
        return self.row(
            process(value) if process and value is not None else value
            for process, value in zip(self.processors, values, strict=True)
        )


class SQLiteQuickReads:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": timeout}
        )
        self._connection: sqlite3.Connection | None = None
        # Statements are module constants, compiled on first use.
        self._compiled: dict[Select, _Compiled] = {}

    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled.of(statement, self._engine.dialect)
        try:
            values = self._driver().execute(compiled.sql, compiled.parameters(parameters)).fetchone()
        except (sqlite3.Error, DBAPIError) as exc:
            raise DatabaseUnavailable() from exc
        return None if values is None else compiled.read(values)

    def _driver(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._engine.raw_connection().driver_connection
        return self._connection

    async def close(self) -> None:
        self._connection = None
        self._engine.dispose()


class PostgresQuickReads:
    """The pool opens on first use (it needs the running loop) and replaces connections broken
    by an outage."""

    def __init__(self, engine: Engine, *, size: int, timeout: float) -> None:
        url = engine.url.render_as_string(hide_password=False)
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._dialect = engine.dialect
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            open=False,
            name="quick-reads",
        )
        self._opened = False
        # Statements are module constants, compiled on first use.
        self._compiled: dict[Select, _Compiled] = {}

    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = _Compiled.of(statement, self._dialect)
        try:
            if not self._opened:
                self._opened = True
                await self._pool.open(wait=False)
            async with self._pool.connection() as connection:
                cursor = await connection.execute(compiled.sql, compiled.parameters(parameters))
                values = await cursor.fetchone()
        except (PsycopgError, PoolTimeout) as exc:
            raise DatabaseUnavailable() from exc
        return None if values is None else compiled.read(values)

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()


def create_quick_reads(engine: Engine) -> QuickReads:
    if engine.dialect.name == "sqlite":
        # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
        return SQLiteQuickReads(engine.url.render_as_string(hide_password=False), timeout=1.0)
    return PostgresQuickReads(engine, size=4, timeout=5.0)
