"""The databases under test: a SQLite file or a PostgreSQL schema per scale, row counts, server state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.db.engine import normalise_database_url
from bench.procfs import parent_pid


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _scalar(url: str, sql: str):
    engine = create_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def count_rows(url: str, table: str) -> int:
    return _scalar(url, f'SELECT count(*) FROM "{table}"')


def settled_count(url: str, table: str, wait: float = 10.0) -> int:
    """The row count once in-flight requests have finished (two equal readings 0.5 s apart)."""
    deadline = time.monotonic() + wait
    previous = count_rows(url, table)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = count_rows(url, table)
        if current == previous:
            return current
        previous = current
    return previous


def remove_sqlite(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def sqlite_database(work: Path, scale: str, keep: bool) -> Iterator[str]:
    url = f"sqlite:///{work / f'sqlite-{scale}.db'}"
    remove_sqlite(url)
    yield url
    if not keep:
        remove_sqlite(url)


@contextmanager
def postgres_schema(base_url: str, scale: str, keep: bool) -> Iterator[str]:
    """A schema of its own in the given database, dropped afterwards."""
    schema = f"bench_{scale.lower()}"
    admin = create_engine(normalise_database_url(base_url), poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(normalise_database_url(base_url)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if not keep:
            with suppress(Exception), admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def postgres_version(url: str) -> str:
    engine = create_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            settings = {
                name: connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
            }
        return f"{version} ({', '.join(f'{k}={v}' for k, v in settings.items())})"
    finally:
        engine.dispose()


_OTHERS_ACTIVE = (
    "FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
)


def postgres_active(url: str) -> int:
    return _scalar(url, f"SELECT count(*) {_OTHERS_ACTIVE}")


def postgres_cancel_active(url: str) -> int:
    return _scalar(url, f"SELECT count(pg_cancel_backend(pid)) {_OTHERS_ACTIVE}")


def postgres_server_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its CPU is then counted)."""
    engine = create_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # A backend's parent is the postmaster, read while the backend is still there.
            with suppress(OSError, ValueError, IndexError):
                return parent_pid(backend)
            return None
    finally:
        engine.dispose()
