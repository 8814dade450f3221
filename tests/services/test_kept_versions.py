"""SQLite's change counter keeps the versions it read while ``PRAGMA data_version`` stands: the
very next read after a commit by another connection, of this process or another, sees it. After
a commit it reads only the scopes moved since, and keeps the others."""

import asyncio
import random
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from app.config import Settings
from app.db.change_counter import SQLiteChangeCounter, create_change_counter
from app.db.engine import create_db_engine
from app.db.migrations import upgrade
from app.db.sessions import session_scope
from app.domain import scopes
from app.domain.access import SYSTEM
from app.services import audit, change_scopes

RECOMMENDATION = frozenset({scopes.recommendation(1), scopes.ORGANISATIONS})
OTHER = frozenset({scopes.recommendation(2), scopes.ORGANISATIONS})
PORTFOLIO = frozenset({scopes.PORTFOLIO})

# A write as the services make one: its audit event, and the scopes it touches moved on to its id.
WRITE = """
import sys
from datetime import UTC, datetime
from app.config import Settings
from app.db.engine import create_db_engine
from app.db.sessions import session_scope
from app.domain import scopes
from app.domain.access import SYSTEM
from app.services import audit

engine = create_db_engine(Settings(database_url=sys.argv[1]))
with session_scope(engine) as session:
    audit.record(session, actor=SYSTEM, action="update", entity="recommendation",
                 entity_id=int(sys.argv[2]), now=datetime.now(UTC),
                 scopes={scopes.recommendation(int(sys.argv[2]))})
    session.commit()
engine.dispose()
"""


@pytest.fixture
def sqlite_url(fresh_database_url):
    if not fresh_database_url.startswith("sqlite"):
        pytest.skip("PRAGMA data_version is SQLite's")
    upgrade(fresh_database_url)
    return fresh_database_url


def _write_in_this_process(url: str, recommendation_id: int) -> None:
    _touch(url, {scopes.recommendation(recommendation_id)})


def _touch(url: str, touched: set[str]) -> None:
    """A write, as the services make one, that touches ``touched``."""
    engine = create_db_engine(Settings(database_url=url))
    try:
        with session_scope(engine) as session:
            audit.record(
                session,
                actor=SYSTEM,
                action="update",
                entity="recommendation",
                entity_id=1,
                now=datetime.now(UTC),
                scopes=touched,
            )
            session.commit()
    finally:
        engine.dispose()


def _write_in_another_process(url: str, recommendation_id: int) -> None:
    subprocess.run([sys.executable, "-c", WRITE, url, str(recommendation_id)], check=True, timeout=120)


def _with_counter(url: str, scenario, make_counter=create_change_counter) -> None:
    """Run ``scenario(counter)`` on the event loop, with a change counter on the database at ``url``."""
    engine = create_db_engine(Settings(database_url=url))
    counter = make_counter(engine)

    async def run() -> None:
        try:
            await scenario(counter)
        finally:
            await counter.close()

    try:
        asyncio.run(run())
    finally:
        engine.dispose()


@pytest.mark.parametrize("write", [_write_in_this_process, _write_in_another_process])
def test_the_next_read_after_another_connections_commit_sees_it(sqlite_url, write):
    async def scenario(counter) -> None:
        assert isinstance(counter, SQLiteChangeCounter)
        for round_ in range(3):
            before = [await counter.read(asked) for asked in (RECOMMENDATION, OTHER, PORTFOLIO)]
            assert [await counter.read(asked) for asked in (RECOMMENDATION, OTHER, PORTFOLIO)] == before
            write(sqlite_url, 1)
            after = [await counter.read(asked) for asked in (RECOMMENDATION, OTHER, PORTFOLIO)]
            assert after[0] > before[0], f"round {round_}: the write to recommendation 1 was missed"
            assert after[1] == before[1]  # recommendation 2 was not touched
            assert after[2] == after[0]  # the newest audit event is the write's

    _with_counter(sqlite_url, scenario)


def test_while_nothing_is_committed_a_read_of_known_scopes_runs_only_the_pragma(sqlite_url):
    statements: list[str] = []

    async def scenario(counter) -> None:
        await counter.read(RECOMMENDATION)
        counter._connection._connection.set_trace_callback(statements.append)
        kept = await counter.read(RECOMMENDATION)
        assert statements == ["PRAGMA data_version"]
        statements.clear()
        assert await counter.read(OTHER) == kept  # not read yet: one statement, data_version in it
        assert "pragma_data_version" in statements[0]
        assert all(nested.startswith("--") for nested in statements[1:])  # the pragma's own, within it

    _with_counter(sqlite_url, scenario)


def test_past_the_names_it_may_keep_it_starts_afresh(sqlite_url):
    async def scenario(counter) -> None:
        for i in range(1, 20):
            assert await counter.read({scopes.recommendation(i)}) == 0
            assert len(counter._known) <= 5

    def small(engine):
        return SQLiteChangeCounter(engine.url.render_as_string(hide_password=False), timeout=1.0, max_kept=5)

    _with_counter(sqlite_url, scenario, small)


def test_after_a_commit_it_reads_only_the_scopes_moved_since_and_keeps_the_others(sqlite_url):
    statements: list[str] = []
    listed = frozenset({scopes.recommendation(i) for i in range(1, 60)})

    async def scenario(counter) -> None:
        before = await counter.read(listed)
        others = await counter.read(OTHER)
        _write_in_this_process(sqlite_url, 7)
        counter._connection._connection.set_trace_callback(statements.append)
        assert await counter.read(listed) > before  # recommendation 7 moved
        [read] = [statement for statement in statements if "pragma_data_version" in statement]
        assert "WHERE version > " in read and "recommendation:" not in read, read  # no name asked again
        statements.clear()
        assert await counter.read(OTHER) == others  # kept, as the listed scopes are
        assert statements == ["PRAGMA data_version"]

    _with_counter(sqlite_url, scenario)


def test_through_any_writes_and_reads_it_answers_as_a_fresh_read_would(sqlite_url):
    """A table of writes and reads drawn at random: after each step, every kept answer is the
    one read afresh from the database (``change_scopes.answer_version``)."""
    rng = random.Random(2026)
    named = [scopes.report(1), scopes.FIGURES, scopes.EVERYTHING]
    pool = [scopes.recommendation(i) for i in range(1, 9)] + named
    asks = [frozenset(rng.sample(pool, rng.randint(1, 4))) for _ in range(12)] + [PORTFOLIO]
    engine = create_db_engine(Settings(database_url=sqlite_url))

    def fresh(asked: frozenset[str]) -> int:
        with engine.connect() as connection:
            return change_scopes.answer_version(connection, asked)

    async def scenario(counter) -> None:
        for step in range(40):
            if rng.random() < 0.4:
                _touch(sqlite_url, set(rng.sample(pool, rng.randint(1, 3))))
            for asked in rng.sample(asks, 5):
                assert await counter.read(asked) == fresh(asked), f"step {step}: {sorted(asked)}"

    try:
        _with_counter(sqlite_url, scenario)
    finally:
        engine.dispose()
