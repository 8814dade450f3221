"""Reads that are one indexed statement, run on the event loop through connections of their
own (``app.db.loop_connections``): on SQLite straight to the driver, on PostgreSQL one
round trip in autocommit. Each statement is compiled once, and its columns are read back by
their types, as SQLAlchemy's result would read them.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Engine, Select

from app.db.compiled import compiled_once
from app.db.loop_connections import PostgresLoopPool, SQLiteLoopConnection


class QuickReads(Protocol):
    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        """The row ``statement`` selects (it must not write), with attributes named after its
        columns; None when there is none."""
        ...

    async def close(self) -> None: ...


class SQLiteQuickReads:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._connection = SQLiteLoopConnection(url, timeout=timeout)

    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        compiled = compiled_once(statement, self._connection.dialect)
        rows = self._connection.fetch(compiled.sql, compiled.parameters(parameters))
        return compiled.read(rows[0]) if rows else None

    async def close(self) -> None:
        self._connection.close()


class PostgresQuickReads:
    def __init__(self, engine: Engine, *, size: int, timeout: float) -> None:
        url = engine.url.render_as_string(hide_password=False)
        self._pool = PostgresLoopPool(url, size=size, timeout=timeout, name="quick-reads")
        self._dialect = engine.dialect

    async def one(self, statement: Select, parameters: Mapping[str, Any]) -> Any | None:
        compiled = compiled_once(statement, self._dialect)
        async with self._pool.connection() as connection:
            cursor = await connection.execute(compiled.sql, compiled.parameters(parameters))
            values = await cursor.fetchone()
        return None if values is None else compiled.read(values)

    async def close(self) -> None:
        await self._pool.close()


def create_quick_reads(engine: Engine) -> QuickReads:
    if engine.dialect.name == "sqlite":
        # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
        return SQLiteQuickReads(engine.url.render_as_string(hide_password=False), timeout=1.0)
    return PostgresQuickReads(engine, size=4, timeout=5.0)
