"""What every connection of the application's engine is set up with."""

import pytest
from sqlalchemy import text


def test_postgresql_connections_do_not_jit_compile(engine):
    """JIT compiling the as-of queries took seconds of a query answered in milliseconds."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar_one() == "off"


def test_sqlite_connections_use_wal_and_foreign_keys(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
