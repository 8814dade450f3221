"""Reads that are one indexed statement, run where they cost least.

Handing a read to a worker thread and back costs more than such a read itself (see
``change_counter``). On SQLite they run on the event loop, on a connection of their own
outside the application's pool (the loop must never wait for a pooled connection while worker
threads hold them all), with no transaction around the statement: SQLite makes it its own, so
it sees one state of the database, and in WAL mode it never waits for a writer. On PostgreSQL
the statement is a network round trip: it runs in a worker thread on a pooled connection.
"""

from collections.abc import Callable
from typing import Protocol, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import StaticPool

T = TypeVar("T")


class QuickReads(Protocol):
    async def run(self, read: Callable[[Connection], T]) -> T:
        """``read(connection)``: one statement, which must not write."""
        ...

    def close(self) -> None: ...


class SQLiteQuickReads:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": timeout}
        )

    async def run(self, read: Callable[[Connection], T]) -> T:
        with self._engine.connect() as connection:
            return read(connection)

    def close(self) -> None:
        self._engine.dispose()


class WorkerThreadReads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def run(self, read: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self._engine.connect() as connection:
                return read(connection)

        return await anyio.to_thread.run_sync(run)

    def close(self) -> None:
        pass  # the application's engine is disposed of with the application


def create_quick_reads(engine: Engine) -> QuickReads:
    if engine.dialect.name == "sqlite":
        # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
        return SQLiteQuickReads(engine.url.render_as_string(hide_password=False), timeout=1.0)
    return WorkerThreadReads(engine)
