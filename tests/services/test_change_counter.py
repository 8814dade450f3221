"""The change counter as the API reads it: on the event loop, on either engine."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.change_counter import CoalescedReads, create_change_counter
from app.db.engine import create_db_engine
from app.db.migrations import upgrade
from app.db.sessions import session_scope
from app.domain.access import SYSTEM
from app.errors import DatabaseUnavailable
from app.services import audit, change_scopes


def _read_around_a_write(url: str) -> tuple[int, int, int]:
    engine = create_db_engine(Settings(database_url=url))
    counter = create_change_counter(engine)

    async def scenario() -> tuple[int, int, int]:
        try:
            before = await counter.read()
            with session_scope(engine) as session:
                _record_an_event(session)
                session.flush()
                during = await counter.read()  # not committed yet: not counted
                session.commit()
            return before, during, await counter.read()
        finally:
            await counter.close()

    try:
        return asyncio.run(scenario())
    finally:
        engine.dispose()


def _record_an_event(session) -> None:
    audit.record(session, actor=SYSTEM, action="create", entity="report", entity_id=1, now=datetime.now(UTC))


def _write_an_event(engine) -> None:
    with session_scope(engine) as session:
        _record_an_event(session)
        session.commit()


def _newest_event(url: str) -> int:
    engine = create_db_engine(Settings(database_url=url))
    try:
        with engine.connect() as connection:
            return audit.read_change_counter(connection)
    finally:
        engine.dispose()


def test_the_counter_moves_when_a_write_commits(fresh_database_url):
    upgrade(fresh_database_url)
    before, during, after = _read_around_a_write(fresh_database_url)
    assert before == during == 0
    assert after > before


def test_an_unreachable_database_is_unavailable_not_an_error(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'missing' / 'rectrack.db'}"
    else:
        url = "postgresql://rectrack@127.0.0.1:9/rectrack"  # the discard port: nothing listens
    engine = create_db_engine(Settings(database_url=url))
    counter = create_change_counter(engine, timeout=1.0)

    async def scenario() -> None:
        try:
            with pytest.raises(DatabaseUnavailable) as raised:
                await counter.read()
            assert raised.value.status == 503 and raised.value.headers == {"Retry-After": "5"}
        finally:
            await counter.close()

    asyncio.run(scenario())
    engine.dispose()


def test_the_counters_connection_carries_the_urls_settings_and_its_own(fresh_database_url):
    """As the other connections do: what the URL's ``options`` say (so a schema's ``search_path``
    too), JIT off; and its own: a plan at each read, never a scan."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's connection takes no server settings")
    url = make_url(fresh_database_url).update_query_dict({"options": "-c application_name=rectrack-counter"})
    engine = create_db_engine(Settings(database_url=url.render_as_string(hide_password=False)))
    counter = create_change_counter(engine)

    async def scenario() -> tuple:
        try:
            rows = await counter._connection.fetch(
                "SELECT current_setting('application_name'), current_setting('jit'), "
                "current_setting('plan_cache_mode'), current_setting('enable_seqscan')"
            )
            return tuple(rows[0])
        finally:
            await counter.close()

    try:
        assert asyncio.run(scenario()) == ("rectrack-counter", "off", "force_custom_plan", "off")
    finally:
        engine.dispose()


def test_the_versions_are_planned_for_the_table_as_it_is_at_each_read(fresh_database_url):
    """``scope_version`` grows from nothing with the writes; a plan kept on a connection from when
    it was empty (a sequential scan) read every row at every poll until autovacuum analysed it."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite plans each statement it prepares afresh")
    upgrade(fresh_database_url)
    engine = create_db_engine(Settings(database_url=fresh_database_url))
    counter = create_change_counter(engine)
    asked = ["recommendation:1", "report:1", "figures"]

    async def scenario() -> tuple[int, list[tuple]]:
        try:
            for _ in range(12):  # prepared, and planned past PostgreSQL's five custom plans
                await counter.read(asked)
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    "INSERT INTO scope_version (scope, version) "
                    "SELECT 'recommendation:' || n, n FROM generate_series(1, 5000) AS n"
                )
            for _ in range(12):
                tag = await counter.read(asked)
            plans = await counter._connection.fetch(  # on the counter's own connection
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%scope_version%' AND statement NOT LIKE '%pg_prepared_statements%'"
            )
            return tag, [tuple(plan) for plan in plans]
        finally:
            await counter.close()

    try:
        tag, plans = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert tag == 1  # recommendation:1's version, the newest of those asked about
    assert plans, "the versions statement was not prepared on the counter's connection"
    assert [generic for generic, _ in plans] == [0] * len(plans)
    assert sum(custom for _, custom in plans) >= 12


def test_the_counter_reads_again_through_a_new_connection_when_its_own_is_closed(fresh_database_url):
    """Its connection ended by the server (a restart, an idle timeout, an administrator): a read
    may be answered 503 while the loss shows, and a later one reads through a new connection."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's connection is a file")
    upgrade(fresh_database_url)
    engine = create_db_engine(Settings(database_url=fresh_database_url))
    counter = create_change_counter(engine)

    async def backend() -> int:
        return (await counter._connection.fetch("SELECT pg_backend_pid()"))[0][0]

    async def scenario() -> tuple[int, int, list[object]]:
        try:
            assert await counter.read() == 0
            closed = await backend()
            with engine.begin() as connection:
                connection.exec_driver_sql("SELECT pg_terminate_backend(%s)", (closed,))
            _write_an_event(engine)
            answers: list[object] = []
            for _ in range(3):
                try:
                    answers.append(await counter.read())
                except DatabaseUnavailable as unavailable:
                    answers.append(unavailable.status)
                await asyncio.sleep(0.05)
            return closed, await backend(), answers
        finally:
            await counter.close()

    try:
        closed, now, answers = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert now != closed
    newest = _newest_event(fresh_database_url)  # the write committed meanwhile, counted
    assert newest > 0 and answers[-2:] == [newest, newest], answers
    assert set(answers) <= {503, newest}, answers


class CountingQuery:
    """A query that answers, for each scope it is asked about, how many queries had started when
    it started, after a pause."""

    def __init__(self, *, fail: bool = False) -> None:
        self.started = 0
        self.fail = fail
        self.asked: list[tuple[str, ...]] = []

    async def __call__(self, names: tuple[str, ...]) -> dict[str, int]:
        self.started += 1
        self.asked.append(names)
        number = self.started
        await asyncio.sleep(0.01)
        if self.fail:
            raise DatabaseUnavailable()
        return dict.fromkeys(names, number)


async def _read(reads: CoalescedReads, scope: str = "s") -> int:
    return (await reads.read([scope]))[scope]


def test_reads_asked_for_together_share_a_query():
    query = CountingQuery()
    reads = CoalescedReads(query)

    async def scenario() -> list[int]:
        return await asyncio.gather(*(_read(reads, f"s{i % 3}") for i in range(20)))

    answers = asyncio.run(scenario())
    # The first read starts a query at once; the other 19, asked for before it began, share the next,
    # which reads every scope they asked about.
    assert query.started == 2
    assert answers == [1] + [2] * 19
    assert query.asked == [("s0",), ("s0", "s1", "s2")]


def test_a_read_never_takes_the_answer_of_a_query_already_under_way():
    query = CountingQuery()
    reads = CoalescedReads(query)

    async def scenario() -> tuple[int, int, int]:
        first = asyncio.ensure_future(_read(reads))
        while query.started == 0:
            await asyncio.sleep(0)
        later = await _read(reads)  # asked for while query 1 runs: a write may have committed since
        return await first, later, await _read(reads)

    assert asyncio.run(scenario()) == (1, 2, 3)


def test_a_failed_query_fails_its_readers_and_the_next_read_queries_again():
    query = CountingQuery(fail=True)
    reads = CoalescedReads(query)

    async def scenario() -> None:
        results = await asyncio.gather(*(_read(reads) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(result, DatabaseUnavailable) for result in results)
        query.fail = False
        assert await _read(reads) == query.started

    asyncio.run(scenario())

    async def on_another_loop() -> int:
        return await _read(reads)

    # A second event loop (the tests' clients make several): the reads start afresh on it.
    assert asyncio.run(on_another_loop()) == query.started


VERSIONS = change_scopes.versions_sql(0, dialect="postgresql", array_parameter="$1")


def test_the_versions_are_looked_up_by_key_however_many_are_asked_for(fresh_database_url):
    """Fifty-odd names against some thousands of analysed rows: where the planner would match
    every row against every name (a sequential scan), the counter looks each name up."""
    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite looks IN lists up by key")
    upgrade(fresh_database_url)
    engine = create_db_engine(Settings(database_url=fresh_database_url))
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO scope_version (scope, version) "
            "SELECT 'recommendation:' || n, n FROM generate_series(1, 9000) AS n"
        )
        connection.exec_driver_sql("ANALYZE scope_version")
    counter = create_change_counter(engine)
    asked = sorted(
        {"everything", "figures", "organisations", *(f"recommendation:{n * 97}" for n in range(1, 55))}
    )

    async def scenario() -> tuple[int, str]:
        try:
            tag = await counter.read(asked)
            plan = await counter._connection.fetch("EXPLAIN " + VERSIONS, asked)
            return tag, "\n".join(row[0] for row in plan)
        finally:
            await counter.close()

    try:
        tag, plan = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert tag == 54 * 97  # the newest of those asked about
    assert "scope_version" in plan
    assert "Seq Scan on scope_version" not in plan, plan
