"""The write path's statements straight to asyncpg (``app.db.statements``) answer, write, fail
and take part in transactions as they do through SQLAlchemy; on SQLite they go through it."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, event, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.config import Settings
from app.db import statements
from app.db.loop_writes import create_loop_writes
from app.models import IdempotencyRecord, Recommendation
from app.services import idempotency, progress, recommendation_rows

_RECORDS = IdempotencyRecord.__table__


def _on_the_loop(settings: Settings, engine, write: Callable[[Connection], object]):
    """``write`` on a connection of the event loop's writers, as a request's write runs."""
    loop_writes = create_loop_writes(engine, settings)

    async def scenario():
        try:
            return await loop_writes.run(write)
        finally:
            await loop_writes.dispose()

    return asyncio.run(scenario())


def _record(key: str) -> dict:
    return {
        "scope": "test",
        "key": key,
        "request_hash": "h",
        # another zone: kept as the same instant in UTC
        "created_at": datetime(2026, 12, 4, 12, 0, tzinfo=timezone(timedelta(hours=1))),
        "response_status": 201,
        "response_headers": {"content-type": "application/json"},
        "response_body": "{}",
    }


def _records(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(
            select(_RECORDS.c.key, _RECORDS.c.state, _RECORDS.c.created_at, _RECORDS.c.response_headers)
        ).all()


def _direct_only(database) -> None:
    if database.dialect.name != "postgresql":
        pytest.skip("on SQLite the statements go through SQLAlchemy: nothing to compare")


def test_rows_read_directly_are_sqlalchemys_rows(settings, database, seeded):
    _direct_only(database)
    with database.connect() as connection:
        recommendation_id, report_id = connection.execute(
            select(Recommendation.id, Recommendation.report_id).where(Recommendation.ref == "1.1")
        ).one()
    asked = [
        (recommendation_rows._LOCKED, {"recommendation_id": recommendation_id}),
        (progress._LOCKED_WITH_OWNERS, {"recommendation_id": recommendation_id}),
        (progress._REPORT_AND_OWNERS, {"recommendation_id": recommendation_id, "report_id": report_id}),
    ]

    def read_both_ways(connection: Connection) -> list:
        connection.begin()
        return [
            (statements.execute(connection, st, given).all(), connection.execute(st, given).all())
            for st, given in asked
        ]

    for direct, through_sqlalchemy in _on_the_loop(settings, database, read_both_ways):
        assert direct and len(direct) == len(through_sqlalchemy)
        for row, expected in zip(direct, through_sqlalchemy, strict=True):
            assert row._fields == tuple(expected._fields)
            assert tuple(row) == tuple(expected)
            # the same types: the statuses as the domain's enumerations, dates as dates
            assert [type(v) for v in row] == [type(v) for v in expected]


def test_a_write_commits_and_rolls_back_with_the_transaction_sqlalchemy_began(settings, database):
    def write_then_roll_back(connection: Connection) -> None:
        connection.begin()
        statements.execute(connection, idempotency._ANSWERED, _record("rolled-back"))
        connection.rollback()

    def write_then_commit(connection: Connection) -> None:
        with connection.begin():
            statements.execute(connection, idempotency._ANSWERED, _record("kept"))

    _on_the_loop(settings, database, write_then_roll_back)
    _on_the_loop(settings, database, write_then_commit)
    assert _records(database) == [
        ("kept", "done", datetime(2026, 12, 4, 11, 0, tzinfo=UTC), {"content-type": "application/json"})
    ]


def test_a_statement_without_a_transaction_begins_one_for_its_connection_to_commit(settings, database):
    def write(connection: Connection) -> bool:
        statements.execute(connection, idempotency._ANSWERED, _record("autobegun"))
        began = connection.in_transaction()
        connection.rollback()
        return began

    assert _on_the_loop(settings, database, write) is True
    assert _records(database) == []


def test_a_broken_constraint_is_sqlalchemys_integrity_error_and_the_connection_goes_on(settings, database):
    def write_twice(connection: Connection) -> list:
        with connection.begin():
            statements.execute(connection, idempotency._ANSWERED, _record("twice"))
        connection.begin()
        with pytest.raises(IntegrityError):
            statements.execute(connection, idempotency._ANSWERED, _record("twice"))
        connection.rollback()
        with connection.begin():
            statements.execute(connection, idempotency._ANSWERED, _record("after"))
        return [row.key for row in connection.execute(select(_RECORDS.c.key).order_by(_RECORDS.c.id))]

    assert _on_the_loop(settings, database, write_twice) == ["twice", "after"]


def test_statements_are_seen_by_the_engines_listeners(settings, database):
    _direct_only(database)
    seen: list[str] = []

    def write(connection: Connection) -> None:
        event.listen(connection.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
        with connection.begin():
            statements.execute(connection, idempotency._ANSWERED, _record("seen"))

    _on_the_loop(settings, database, write)
    assert [s for s in seen if "idempotency_record" in s] and "INSERT INTO idempotency_record" in seen[-1]


def test_a_connection_lost_mid_write_fails_as_through_sqlalchemy_and_is_not_used_again(settings, database):
    _direct_only(database)

    def lose_the_connection(run: Callable[[Connection], object]) -> Callable[[Connection], tuple]:
        def write(connection: Connection) -> tuple[type, bool]:
            connection.begin()
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with database.connect() as other:
                assert other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
            time.sleep(0.2)  # the server's goodbye is on its way
            with pytest.raises(DBAPIError) as lost:
                run(connection)
            return type(lost.value), lost.value.connection_invalidated

        return write

    directly = _on_the_loop(
        settings,
        database,
        lose_the_connection(lambda c: statements.execute(c, idempotency._ANSWERED, _record("lost"))),
    )
    through_sqlalchemy = _on_the_loop(
        settings, database, lose_the_connection(lambda c: c.execute(idempotency._ANSWERED, _record("lost")))
    )
    assert directly == through_sqlalchemy
    assert directly[1], "the connection is invalidated: the pool does not hand it out again"
    assert _records(database) == []
