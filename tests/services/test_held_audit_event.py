"""An audit event held back for the statement that claims an Idempotency-Key
(``app.services.audit.HeldEvent``) is written by it, in its turn, or not at all.

On PostgreSQL a write with a key appends its audit event and claims the key with its answer in
one statement; on SQLite each is a statement of its own and nothing is held.
"""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.db.sessions import writers
from app.domain.access import SYSTEM
from app.models import AuditEvent, IdempotencyRecord, ScopeVersion
from app.services import audit
from app.services.encryption import IDEMPOTENT_ANSWERS, cipher
from app.services.idempotency import IdempotencyStore, Outcome

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ANSWER = {"status": 201, "headers": {"content-type": "application/json"}, "body": "{}"}


@pytest.fixture
def store(database):
    if database.dialect.name != "postgresql":
        pytest.skip("SQLite writes each event when it is recorded")
    return IdempotencyStore(writers(database).connect, cipher("s" * 32, IDEMPOTENT_ANSWERS))


def _record(session: Session, scope: str) -> int | None:
    """An event for report ``scope``, with the report's id as its entity's."""
    entity_id = int(scope.removeprefix("report:"))
    return audit.record(
        session, actor=SYSTEM, action="update", entity="report", entity_id=entity_id, now=NOW, scopes=[scope]
    )


def _report_versions(connection) -> dict[str, int]:
    rows = connection.execute(
        select(ScopeVersion.scope, ScopeVersion.version).where(ScopeVersion.scope.like("report:%"))
    )
    return dict(rows.all())


def _write_with_key(store: IdempotencyStore, key: str, *scopes: str) -> tuple[list, Outcome | None]:
    """Events for ``scopes`` recorded in a session that holds them back, then the key claimed;
    the events seen inside the transaction before the claim, and the claim's outcome if the key
    was taken."""
    held = audit.HeldEvent()
    with store.connect() as connection:
        store.begin(connection, now=NOW)
        with Session(
            bind=connection, join_transaction_mode="rollback_only", info={audit.HELD_IN: held}
        ) as session:
            for scope in scopes:
                assert _record(session, scope) is None
            before_the_claim = list(connection.execute(select(AuditEvent.entity_id)).scalars())
        taken = store.keep_new(
            connection, scope="s", key=key, request_hash="h", now=NOW, event=held.parameters, **ANSWER
        )
        if taken is None:
            connection.commit()
    return before_the_claim, None if taken is None else taken.outcome


def test_the_held_event_is_written_with_the_key_after_the_events_before_it(store, database):
    before_the_claim, taken = _write_with_key(store, "k", "report:1", "report:2")
    assert taken is None
    assert before_the_claim == [1], "an earlier event is written when the next is held"
    with database.connect() as connection:
        events = connection.execute(select(AuditEvent.id, AuditEvent.entity_id).order_by(AuditEvent.id)).all()
        versions = _report_versions(connection)
        keys = connection.execute(select(IdempotencyRecord.key, IdempotencyRecord.state)).all()
    assert [entity_id for _, entity_id in events] == [1, 2]
    assert versions == {"report:1": events[0].id, "report:2": events[1].id}
    assert keys == [("k", "done")]


def test_a_key_taken_first_leaves_nothing_of_the_write_or_its_event(store, database):
    assert _write_with_key(store, "k", "report:1") == ([], None)
    with database.connect() as connection:
        first = connection.execute(select(AuditEvent.id)).scalars().all()
    # report 2's event was written when report 3's was held; the taken key rolls back both
    assert _write_with_key(store, "k", "report:2", "report:3") == ([1, 2], Outcome.REPLAY)
    with database.connect() as connection:
        assert connection.execute(select(AuditEvent.id)).scalars().all() == first
        assert _report_versions(connection) == {"report:1": first[0]}
