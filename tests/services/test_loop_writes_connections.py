"""The event loop's writers connect to PostgreSQL through asyncpg with what the database URL
says, as psycopg reads the same URL for the rest of the application."""

import asyncio

import pytest
from sqlalchemy import make_url

from app.config import Settings
from app.db.engine import create_db_engine
from app.db.loop_connections import asyncpg_connect_args
from app.db.loop_writes import PostgresLoopWrites, SqliteLoopWrites, create_loop_writes

JIT_OFF = {"jit": "off"}


@pytest.mark.parametrize(
    ("url", "dsn", "timeout", "server_settings"),
    [
        ("postgresql+psycopg://u:p@db:5432/rt", "postgresql://u:p@db:5432/rt", 5.0, JIT_OFF),
        # asyncpg reads TLS, hosts and the rest itself, and sends unknown names as settings
        (
            "postgresql+psycopg://u:p@db/rt?sslmode=verify-full&application_name=rt",
            "postgresql://u:p@db/rt?application_name=rt&sslmode=verify-full",
            5.0,
            JIT_OFF,
        ),
        ("postgresql+psycopg://u:p%40ss@db/rt", "postgresql://u:p%40ss@db/rt", 5.0, JIT_OFF),
        ("postgresql+psycopg://u@db/rt?connect_timeout=2", "postgresql://u@db/rt", 2.0, JIT_OFF),
        (
            "postgresql+psycopg://u@db/rt?options=-csearch_path%3Dbench_l",
            "postgresql://u@db/rt",
            5.0,
            {**JIT_OFF, "search_path": "bench_l"},
        ),
        (
            "postgresql+psycopg://u@db/rt?options=-c%20search_path%3Da,b%20--statement-timeout%3D5s",
            "postgresql://u@db/rt",
            5.0,
            {**JIT_OFF, "search_path": "a,b", "statement_timeout": "5s"},
        ),
        (  # a backslash keeps a space in a value
            "postgresql+psycopg://u@db/rt?options=-c%20application_name%3Da%5C%20b",
            "postgresql://u@db/rt",
            5.0,
            {**JIT_OFF, "application_name": "a b"},
        ),
        (  # the URL's own setting wins over ours
            "postgresql+psycopg://u@db/rt?options=-cjit%3Don",
            "postgresql://u@db/rt",
            5.0,
            {"jit": "on"},
        ),
    ],
)
def test_asyncpg_is_given_what_the_url_says(url, dsn, timeout, server_settings):
    assert asyncpg_connect_args(make_url(url)) == (
        dsn,
        {"timeout": timeout, "server_settings": server_settings},
    )


@pytest.mark.parametrize("options", ["-x", "-c", "search_path=a", "-c search_path"])
def test_options_libpq_would_refuse_are_refused(options):
    with pytest.raises(ValueError, match="libpq option"):
        asyncpg_connect_args(make_url(f"postgresql+psycopg://u@db/rt?options={options}"))


def test_the_loops_connections_carry_the_urls_settings(settings: Settings, engine):
    if engine.dialect.name != "postgresql":
        assert isinstance(create_loop_writes(create_db_engine(settings), settings), SqliteLoopWrites)
        return
    url = make_url(settings.database_url).update_query_dict(
        {"options": "-c application_name=rectrack-loop-writes", "connect_timeout": "3"}
    )
    configured = Settings(database_url=url.render_as_string(hide_password=False))
    loop_writes = create_loop_writes(create_db_engine(configured), configured)
    assert isinstance(loop_writes, PostgresLoopWrites)

    def read_settings(connection) -> tuple[str, str]:
        row = connection.exec_driver_sql(
            "SELECT current_setting('application_name'), current_setting('jit')"
        ).one()
        return tuple(row)

    async def scenario() -> tuple[str, str]:
        try:
            return await loop_writes.run(read_settings)
        finally:
            await loop_writes.dispose()

    assert asyncio.run(scenario()) == ("rectrack-loop-writes", "off")
