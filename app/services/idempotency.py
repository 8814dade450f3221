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

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.models import IdempotencyRecord

_TABLE = IdempotencyRecord.__table__

RETENTION = timedelta(hours=48)  # at least the 24 hours promised to clients

SessionFactory = Callable[[], AbstractContextManager[Session]]


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


class IdempotencyStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory
        self._next_purge: datetime | None = None

    # Core statements on the session's connection: each of these runs once per idempotent
    # POST, and the ORM's unit of work costs several times the statement it would emit.
    def claim(self, *, scope: str, key: str, request_hash: str, now: datetime) -> Claim:
        with self.session_factory() as session:
            connection = session.connection()
            if self._next_purge is None or now >= self._next_purge:
                # Expired records go in passing, once a minute rather than with every claim.
                self._next_purge = now + PURGE_EVERY
                connection.execute(delete(_TABLE).where(_TABLE.c.created_at < now - RETENTION))
            try:
                claimed = insert(_TABLE).values(
                    scope=scope, key=key, request_hash=request_hash, state="in_progress", created_at=now
                )
                record_id = connection.execute(claimed.returning(_TABLE.c.id)).scalar_one()
                session.commit()
                return Claim(Outcome.NEW, record_id=record_id)
            except IntegrityError:
                session.rollback()
            existing = (
                session.connection()
                .execute(select(_TABLE).where(_TABLE.c.scope == scope, _TABLE.c.key == key))
                .one()
            )
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
        with self.session_factory() as session:
            session.connection().execute(
                update(_TABLE)
                .where(_TABLE.c.id == record_id)
                .values(state="done", response_status=status, response_headers=headers, response_body=body)
            )
            session.commit()

    def abandon(self, record_id: int) -> None:
        """Forget a claim whose request failed before writing anything, so it can be retried."""
        with self.session_factory() as session:
            session.connection().execute(
                delete(_TABLE).where(_TABLE.c.id == record_id, _TABLE.c.state == "in_progress")
            )
            session.commit()


def mark_committed(session: Session, record_id: int) -> None:
    """Called just before the write commits: the record commits with it."""
    session.flush()  # the write's own statements first, as the ORM's autoflush would
    session.connection().execute(update(_TABLE).where(_TABLE.c.id == record_id).values(state="committed"))
