"""The write path's statements, on asyncpg straight to the driver.

A progress update on PostgreSQL is a handful of Core statements on the event loop
(``app.db.loop_writes``). Through SQLAlchemy's execution each paid for its machinery (a cache
key, an execution context, a cursor adapter, a result) about as much as asyncpg's own round
trip: in profiles of (f) on PostgreSQL SQLAlchemy's frames held 27 to 29 % of the API's samples
(docs/benchmarks.md, twentieth round). Here a statement is compiled once for the connection's
dialect (``app.db.compiled``) and asyncpg runs it as a prepared statement of its own cache,
in the transaction SQLAlchemy began, its errors raised as SQLAlchemy raises them. Every other
connection (SQLite, psycopg in a worker thread) runs it through SQLAlchemy.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.util import await_only

from app.db.compiled import compiled_once


class Result(Protocol):
    def all(self) -> Sequence[Any]: ...
    def one(self) -> Any: ...
    def one_or_none(self) -> Any | None: ...
    def scalar_one(self) -> Any: ...


class Rows:
    """A statement's rows, read as SQLAlchemy's result reads them (the part of it used here)."""

    def __init__(self, rows: list) -> None:
        self._rows = rows

    def all(self) -> list:
        return self._rows

    def one_or_none(self) -> Any | None:
        if len(self._rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalar_one(self) -> Any:
        return self.one()[0]


def execute(connection: Connection, statement: Executable, parameters: Mapping[str, Any]) -> Result:
    """``statement`` with ``parameters`` in ``connection``'s transaction (begun if none is)."""
    if connection.dialect.driver != "asyncpg":
        return connection.execute(statement, parameters)
    compiled = compiled_once(statement, connection.dialect, column_keys=parameters)
    arguments = compiled.parameters(parameters)
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's execution begins one
    pooled = connection.connection
    # SQLAlchemy's adapter of the asyncpg connection holds its transaction: its own private
    # methods begin it and translate asyncpg's errors, as they do for SQLAlchemy's execution.
    adapted = pooled.dbapi_connection
    connection.dispatch.before_cursor_execute(connection, None, compiled.sql, arguments, None, False)
    try:
        if adapted._transaction is None:  # BEGIN, as the adapter sends it before a first statement
            await_only(adapted._start_transaction())
        records = await_only(pooled.driver_connection.fetch(compiled.sql, *arguments))
    except Exception as error:
        # Raised as SQLAlchemy raises it (IntegrityError, OperationalError...), the connection
        # invalidated when it is lost.
        connection._handle_dbapi_exception(_translated(adapted, error), compiled.sql, arguments, None, None)
        raise  # not reached: the line above raises
    return Rows([compiled.read(record) for record in records])


def _translated(adapted: Any, error: Exception) -> Exception:
    """``error`` as SQLAlchemy's asyncpg adapter raises it to SQLAlchemy."""
    try:
        adapted._handle_exception(error)  # it always raises
    except Exception as translated:
        return translated
    return error
