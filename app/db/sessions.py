"""Sessions, and the mark of transactions that will write."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session

WRITE_OPTION = "rectrack_writes"


def writers(engine: Engine) -> Engine:
    """``engine`` for transactions that will write: on SQLite they take the write lock up front."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def session_scope(engine: Engine, *, writes: bool = True) -> Iterator[Session]:
    """A session on its own connection; the caller commits.

    ``writes`` marks the transaction as a writer so that SQLite takes the
    write lock up front.
    """
    with engine.connect() as connection:
        if writes:
            connection = connection.execution_options(**{WRITE_OPTION: True})
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session
