"""Idempotency records: the first answer to a POST, kept for its retries.

A record is claimed (state ``in_progress``) in a short transaction of its
own, so that a retry arriving while the first request is still running sees
it and is told so (409). The write itself marks the record ``committed`` in
the write's own transaction; the answer is stored (``done``) right after.
Records are kept for ``RETENTION`` and then forgotten.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, bindparam, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.models import IdempotencyRecord

_TABLE = IdempotencyRecord.__table__

RETENTION = timedelta(hours=48)  # at least the 24 hours promised to clients

# A write transaction on a connection of its own: committed when the block ends, rolled back
# if it raises (``Engine.begin`` on the writers' engine).
Transaction = Callable[[], AbstractContextManager[Connection]]


class Outcome(StrEnum):
    NEW = "new"
    REPLAY = "replay"
    IN_PROGRESS = "in_progress"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record_id: int | None = None
    status: int | None = None
    headers: dict | None = None
    body: str | None = None


PURGE_EVERY = timedelta(minutes=1)


_PURGE = delete(_TABLE).where(_TABLE.c.created_at < bindparam("expired_before"))
_CLAIM = insert(_TABLE).values(state="in_progress").returning(_TABLE.c.id)
_EXISTING = select(_TABLE).where(_TABLE.c.scope == bindparam("scope"), _TABLE.c.key == bindparam("key"))
_COMPLETE = update(_TABLE).where(_TABLE.c.id == bindparam("record_id")).values(state="done")
_ABANDON = delete(_TABLE).where(_TABLE.c.id == bindparam("record_id"), _TABLE.c.state == "in_progress")
_MARK_COMMITTED = update(_TABLE).where(_TABLE.c.id == bindparam("record_id")).values(state="committed")


class IdempotencyStore:
    """Claims, answers and abandons, each a short transaction of its own.

    Core statements on a plain connection: each runs once per idempotent POST, and a
    session's unit of work would cost several times the statement it emits.
    """

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self._next_purge: datetime | None = None

    def claim(self, *, scope: str, key: str, request_hash: str, now: datetime) -> Claim:
        try:
            with self.transaction() as connection:
                if self._next_purge is None or now >= self._next_purge:
                    # Expired records go in passing, once a minute rather than with every claim.
                    self._next_purge = now + PURGE_EVERY
                    connection.execute(_PURGE, {"expired_before": now - RETENTION})
                record_id = connection.execute(
                    _CLAIM, {"scope": scope, "key": key, "request_hash": request_hash, "created_at": now}
                ).scalar_one()
            return Claim(Outcome.NEW, record_id=record_id)
        except IntegrityError:
            pass  # the key was claimed before: what became of it?
        with self.transaction() as connection:
            existing = connection.execute(_EXISTING, {"scope": scope, "key": key}).one()
        if existing.request_hash != request_hash:
            return Claim(Outcome.MISMATCH, record_id=existing.id)
        if existing.state != "done":
            return Claim(Outcome.IN_PROGRESS, record_id=existing.id)
        return Claim(
            Outcome.REPLAY,
            record_id=existing.id,
            status=existing.response_status,
            headers=existing.response_headers,
            body=existing.response_body,
        )

    def complete(self, record_id: int, *, status: int, headers: dict, body: str) -> None:
        with self.transaction() as connection:
            connection.execute(
                _COMPLETE,
                {
                    "record_id": record_id,
                    "response_status": status,
                    "response_headers": headers,
                    "response_body": body,
                },
            )

    def abandon(self, record_id: int) -> None:
        """Forget a claim whose request failed before writing anything, so it can be retried."""
        with self.transaction() as connection:
            connection.execute(_ABANDON, {"record_id": record_id})


RECORD_INFO = "idempotency_record_id"


def commit_record_with(session: Session, record_id: int) -> None:
    """The record of the request ``session`` serves commits with its write (marked ``committed``)."""
    session.info[RECORD_INFO] = record_id


@event.listens_for(Session, "before_commit")
def _mark_committed(session: Session) -> None:
    record_id = session.info.pop(RECORD_INFO, None)
    if record_id is not None:
        session.flush()  # the write's own statements first, as the ORM's autoflush would
        session.connection().execute(_MARK_COMMITTED, {"record_id": record_id})
