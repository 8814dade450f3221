"""Idempotency records: the first answer to a POST, kept for its retries.

The key is claimed, the write made and the answer stored in one transaction,
committed before the client is answered. So a crash at any point leaves either
nothing (a retry performs the write, once) or the write with its answer (a
retry replays it); never a claim that outlives the work it guards. Either the
claim is inserted when the transaction begins and the answer stored at its end
(``claim``, ``complete``), or, for the routes that write in one hop
(app.api.writes), the write is made first and the key claimed with its answer
in one statement at the end (``begin``, ``keep_new``): if the key was taken
first, the write is rolled back and the first answer given instead.

A retry that arrives while the first is running waits for it (on the unique
key in PostgreSQL, on the write lock in SQLite), then replays its answer.
Records are kept for ``RETENTION`` and then forgotten.

Stored answers are encrypted (app.services.encryption): some show a secret once
(a new API key, a webhook's signing secret), and the database must not keep it.
A retry still gets the answer, secret included, as the first request would have.
An answer stored under another RECTRACK_SECRET_KEY cannot be read: its retries
are refused (``UNREADABLE``), never run again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, RootTransaction, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.db import statements
from app.models import IdempotencyRecord
from app.services import audit

_TABLE = IdempotencyRecord.__table__

RETENTION = timedelta(hours=48)  # at least the 24 hours promised to clients
PURGE_EVERY = timedelta(minutes=1)


class Outcome(StrEnum):
    NEW = "new"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    UNREADABLE = "unreadable"  # stored under another server secret


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record_id: int | None = None
    # NEW: the open transaction holding the claim; the request's work joins it.
    connection: Connection | None = None
    status: int | None = None
    headers: dict | None = None
    body: str | None = None


_PURGE = delete(_TABLE).where(_TABLE.c.created_at < bindparam("expired_before"))
_CLAIM = insert(_TABLE).values(state="in_progress").returning(_TABLE.c.id)
_ANSWERED = insert(_TABLE).values(state="done")
_ANSWER_COLUMNS = (
    "scope",
    "key",
    "request_hash",
    "created_at",
    "response_status",
    "response_headers",
    "response_body",
)
# PostgreSQL: the write's audit event held back (``audit.HeldEvent``), then the key with its answer,
# in one statement: one round trip where they took two (docs/benchmarks.md, twenty-first round).
# The key is inserted after the event, so after the change feed's lock, as it was in two: a retry
# waiting on the key holds no lock its first request waits for.
_ANSWERED_AFTER_EVENT = audit.in_turn(
    f"""INSERT INTO idempotency_record ({", ".join(_ANSWER_COLUMNS)}, state)
SELECT {", ".join(f":{name}" for name in _ANSWER_COLUMNS)}, 'done' FROM event""",
    *(bindparam(name, type_=_TABLE.c[name].type) for name in _ANSWER_COLUMNS),
)
_EXISTING = select(_TABLE).where(_TABLE.c.scope == bindparam("scope"), _TABLE.c.key == bindparam("key"))
_COMPLETE = update(_TABLE).where(_TABLE.c.id == bindparam("record_id")).values(state="done")


class IdempotencyStore:
    """Claims that commit with their answer, on the writers' engine.

    Core statements on a plain connection: each runs once per idempotent POST, and a
    session's unit of work would cost several times the statement it emits.
    """

    def __init__(self, connect: Callable[[], Connection], cipher: Fernet) -> None:
        self.connect = connect  # a new connection on the writers' engine (``Engine.connect``)
        self.cipher = cipher  # seals the stored answers (see the module's docstring)
        self._next_purge: datetime | None = None

    def claim(self, *, scope: str, key: str, request_hash: str, now: datetime) -> Claim:
        """The claim on a new connection, its transaction left open when NEW."""
        connection = self.connect()
        try:
            claimed = self.claim_on(connection, scope=scope, key=key, request_hash=request_hash, now=now)
        except BaseException:
            connection.close()
            raise
        if claimed.outcome is not Outcome.NEW:
            connection.close()
        return claimed

    def claim_on(
        self, connection: Connection, *, scope: str, key: str, request_hash: str, now: datetime
    ) -> Claim:
        """The claim in a new transaction on ``connection`` (one on the writers' engine), left open
        when NEW for the request's work to join; otherwise the key's first answer (or its
        refusal), with no transaction left open."""
        while True:
            record_id = self._insert(connection, scope=scope, key=key, request_hash=request_hash, now=now)
            if record_id is not None:
                return Claim(Outcome.NEW, record_id=record_id, connection=connection)
            taken = self._first_answer(connection, scope=scope, key=key, request_hash=request_hash)
            if taken is not None:
                return taken
            # purged since: claim it afresh

    def begin(self, connection: Connection, *, now: datetime) -> RootTransaction:
        """A transaction on ``connection`` for a write whose answer ``keep_new`` keeps."""
        transaction = connection.begin()
        try:
            self._purge_if_due(connection, now)
        except BaseException:
            transaction.rollback()
            raise
        return transaction

    def keep_new(
        self,
        connection: Connection,
        *,
        scope: str,
        key: str,
        request_hash: str,
        now: datetime,
        status: int,
        headers: dict,
        body: str,
        event: dict | None = None,
    ) -> Claim | None:
        """The key claimed with its answer in the open transaction on ``connection``, in one
        statement (with the write's audit event held back for it, ``event``: its parameters), for
        the caller to commit with the write (None). When the key was taken first,
        the transaction is rolled back, the write with it, and the answer is the key's first
        answer or its refusal; or ``NEW`` when the record that held the key has been purged
        since, for the caller to write again. A retry of a write still running waits here, on
        the unique key, for the first to end."""
        values = {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "created_at": now,
            "response_status": status,
            "response_headers": headers,
            "response_body": self._seal(body),
        }
        try:
            if event is None:
                statements.execute(connection, _ANSWERED, values)
            else:
                statements.execute(connection, _ANSWERED_AFTER_EVENT, event | values)
            return None
        except IntegrityError:
            connection.rollback()
        taken = self._first_answer(connection, scope=scope, key=key, request_hash=request_hash)
        return taken or Claim(Outcome.NEW)

    def _first_answer(
        self, connection: Connection, *, scope: str, key: str, request_hash: str
    ) -> Claim | None:
        """The answer kept under a taken key, read in a transaction of its own; None if no record
        holds the key (purged since)."""
        try:
            existing = connection.execute(_EXISTING, {"scope": scope, "key": key}).one_or_none()
        finally:
            connection.rollback()
        if existing is None:
            return None
        if existing.request_hash != request_hash:
            return Claim(Outcome.MISMATCH, record_id=existing.id)
        try:
            body = self._open(existing.response_body)
        except InvalidToken:
            return Claim(Outcome.UNREADABLE, record_id=existing.id)
        return Claim(
            Outcome.REPLAY,
            record_id=existing.id,
            status=existing.response_status,
            headers=existing.response_headers,
            body=body,
        )

    def _seal(self, body: str) -> str:
        return self.cipher.encrypt(body.encode()).decode("ascii")

    def _open(self, sealed: str | None) -> str | None:
        return None if sealed is None else self.cipher.decrypt(sealed.encode("ascii")).decode()

    def _insert(
        self, connection: Connection, *, scope: str, key: str, request_hash: str, now: datetime
    ) -> int | None:
        """The claim's id, its transaction open; None when the key is taken (committed), with the
        transaction rolled back."""
        connection.begin()
        try:
            self._purge_if_due(connection, now)
            return connection.execute(
                _CLAIM, {"scope": scope, "key": key, "request_hash": request_hash, "created_at": now}
            ).scalar_one()
        except IntegrityError:
            connection.rollback()
            return None
        except BaseException:
            connection.rollback()
            raise

    def purge_due(self, now: datetime) -> bool:
        """Whether the next transaction ``begin`` opens deletes the expired records: a
        statement whose work grows with the traffic of the past minute."""
        return self._next_purge is None or now >= self._next_purge

    def _purge_if_due(self, connection: Connection, now: datetime) -> None:
        if self.purge_due(now):
            # Expired records go in passing, once a minute rather than with every claim.
            self._next_purge = now + PURGE_EVERY
            connection.execute(_PURGE, {"expired_before": now - RETENTION})

    def keep_answer(self, claim: Claim, *, status: int, headers: dict, body: str) -> None:
        """Store the answer in the claim's transaction; the caller commits it with the write."""
        claim.connection.execute(
            _COMPLETE,
            {
                "record_id": claim.record_id,
                "response_status": status,
                "response_headers": headers,
                "response_body": self._seal(body),
            },
        )

    def complete(self, claim: Claim, *, status: int, headers: dict, body: str) -> None:
        """Store the answer and commit it with the request's write."""
        connection = claim.connection
        try:
            self.keep_answer(claim, status=status, headers=headers, body=body)
            connection.commit()
        finally:
            connection.close()

    def abandon(self, claim: Claim) -> None:
        """Roll back the claim and whatever the request wrote: the key stays free for a retry."""
        claim.connection.close()
