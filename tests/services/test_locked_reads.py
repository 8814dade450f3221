"""A recommendation locked and its owners read in one statement (``recommendation_rows.locked_with``)
are read as they stand once the lock is held, even when the lock was waited for.

On PostgreSQL the statement's snapshot predates its wait: the locked row comes back as the writer
before left it, the owners joined to it as they stood before that writer committed. The
statement says so (the locked version differs from the one its snapshot saw) and the owners are
read again. On SQLite a writer holds the database's write lock from BEGIN: nothing is waited for
inside a statement.
"""

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import Connection, select, update

from app.models import Recommendation, RecommendationOwner
from app.services import progress, recommendation_rows

_OWNER = RecommendationOwner.__table__
_RECOMMENDATION = Recommendation.__table__
T = TypeVar("T")


def _recommendation(database, ref: str) -> tuple[int, int]:
    with database.connect() as connection:
        return connection.execute(
            select(_RECOMMENDATION.c.id, _RECOMMENDATION.c.version).where(_RECOMMENDATION.c.ref == ref)
        ).one()


def _first_owner_status(database, recommendation_id: int) -> str:
    with database.connect() as connection:
        return connection.execute(
            select(_OWNER.c.status)
            .where(_OWNER.c.recommendation_id == recommendation_id)
            .order_by(_OWNER.c.position)
            .limit(1)
        ).scalar_one()


def test_a_lock_not_waited_for_reads_the_owners_in_the_same_statement(database, seeded):
    recommendation_id, version = _recommendation(database, "6.1")
    with database.connect() as connection, connection.begin():
        rows = recommendation_rows.lock_with(connection, progress._LOCKED_WITH_OWNERS, recommendation_id)
        locked, report, owners = progress._lock_with_owners(connection, recommendation_id)
    assert (rows[0].version, rows[0].seen_version) == (version, version)
    assert not recommendation_rows.waited_for_a_writer(rows[0])
    assert [o.code for o in owners] == ["SWYPFT", "CHFT", "MYHT"]
    assert report.calendar == "england-and-wales"


def test_a_lock_waited_for_reads_the_owners_again_after_the_writer_before(database, seeded):
    if database.dialect.name != "postgresql":
        pytest.skip("SQLite's writers wait at BEGIN, not within a statement")
    recommendation_id, version = _recommendation(database, "6.1")
    before = _first_owner_status(database, recommendation_id)
    after = "in_progress" if before != "in_progress" else "not_started"

    rows = _while_a_writer_commits(
        database,
        recommendation_id,
        after,
        lambda c: recommendation_rows.lock_with(c, progress._LOCKED_WITH_OWNERS, recommendation_id),
    )
    assert (rows[0].version, rows[0].seen_version) == (version + 1, version)
    assert recommendation_rows.waited_for_a_writer(rows[0])
    assert rows[0].owner_status == before, "the premise: what was joined is as the snapshot saw it"

    after_that = "in_progress" if after != "in_progress" else "not_started"
    _, _, owners = _while_a_writer_commits(
        database, recommendation_id, after_that, lambda c: progress._lock_with_owners(c, recommendation_id)
    )
    assert owners[0].status == after_that


def _while_a_writer_commits(
    database, recommendation_id: int, status: str, read: Callable[[Connection], T]
) -> T:
    """``read`` in a transaction that waits for the lock of a writer that sets the first owner's
    ``status`` and bumps the version, then commits."""
    answer: dict = {}

    def reader() -> None:
        with database.connect() as connection, connection.begin():
            answer["pid"] = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            answer["read"] = read(connection)

    with database.connect() as writer:
        writer.begin()
        first = select(_OWNER.c.id).where(_OWNER.c.recommendation_id == recommendation_id)
        writer.execute(
            update(_OWNER)
            .where(_OWNER.c.id == first.order_by(_OWNER.c.position).limit(1).scalar_subquery())
            .values(status=status)
        )
        writer.execute(
            update(_RECOMMENDATION)
            .where(_RECOMMENDATION.c.id == recommendation_id)
            .values(version=_RECOMMENDATION.c.version + 1)
        )
        thread = threading.Thread(target=reader)
        thread.start()
        _wait_until_waiting_for_a_lock(database, answer)
        writer.commit()
        thread.join(timeout=10)
    assert not thread.is_alive()
    return answer["read"]


def _wait_until_waiting_for_a_lock(database, answer: dict) -> None:
    deadline = time.monotonic() + 10
    with database.connect() as watcher:
        while time.monotonic() < deadline:
            pid = answer.get("pid")
            if (
                pid is not None
                and watcher.exec_driver_sql(
                    f"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = {int(pid)}"
                ).scalar()
            ):
                return
            watcher.rollback()
            time.sleep(0.01)
    raise AssertionError("the reader never waited for the lock")
