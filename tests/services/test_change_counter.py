"""The change counter as the API reads it: on the event loop, on either engine."""

import asyncio
from datetime import UTC, datetime

import pytest

from app.change_counter import DatabaseUnavailable, create_change_counter
from app.config import Settings
from app.db import create_db_engine, session_scope
from app.domain.access import SYSTEM
from app.migrations import upgrade
from app.services import audit


def _read_around_a_write(url: str) -> tuple[int, int, int]:
    engine = create_db_engine(Settings(database_url=url))
    counter = create_change_counter(engine)

    async def scenario() -> tuple[int, int, int]:
        try:
            before = await counter.read()
            with session_scope(engine) as session:
                audit.record(
                    session,
                    actor=SYSTEM,
                    action="create",
                    entity="report",
                    entity_id=1,
                    now=datetime.now(UTC),
                )
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
