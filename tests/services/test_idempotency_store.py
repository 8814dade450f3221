"""Idempotency records are kept for RETENTION, then purged in passing by a later claim."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.db.sessions import writers
from app.models import IdempotencyRecord
from app.services.encryption import IDEMPOTENT_ANSWERS, cipher
from app.services.idempotency import PURGE_EVERY, RETENTION, IdempotencyStore, Outcome

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database):
    return IdempotencyStore(writers(database).connect, cipher("s" * 32, IDEMPOTENT_ANSWERS))


def _keys(session) -> set[str]:
    session.rollback()  # a new snapshot: the store commits on connections of its own
    return set(session.exec(select(IdempotencyRecord.key)).all())


def test_a_claim_purges_records_past_retention_at_most_once_a_minute(store, session):
    def claim(key: str, at: timedelta) -> None:
        claimed = store.claim(scope="s", key=key, request_hash="h", now=T0 + at)
        assert claimed.outcome is Outcome.NEW
        store.complete(claimed, status=201, headers={}, body="{}")  # the claim commits with its answer

    claim("a", timedelta(0))
    claim("b", timedelta(seconds=10))
    claim("c", RETENTION + timedelta(seconds=1))  # "a" has expired: purged
    assert _keys(session) == {"b", "c"}
    claim("d", RETENTION + timedelta(seconds=30))  # "b" has expired too, but within the minute
    assert _keys(session) == {"b", "c", "d"}
    claim("e", RETENTION + PURGE_EVERY + timedelta(seconds=1))
    assert _keys(session) == {"c", "d", "e"}


def test_a_record_within_retention_is_replayed_not_purged(store, session):
    claim = store.claim(scope="s", key="k", request_hash="h", now=T0)
    store.complete(claim, status=201, headers={}, body="{}")
    replay = store.claim(scope="s", key="k", request_hash="h", now=T0 + RETENTION - timedelta(seconds=1))
    assert replay.outcome is Outcome.REPLAY and replay.status == 201


def test_answers_are_stored_sealed_and_one_sealed_under_another_secret_is_refused(store, database, session):
    claimed = store.claim(scope="s", key="k", request_hash="h", now=T0)
    store.complete(claimed, status=201, headers={}, body='{"key": "rk_shown_once"}')
    session.rollback()
    stored = session.exec(select(IdempotencyRecord.response_body)).one()
    assert "rk_shown_once" not in stored
    replayed = store.claim(scope="s", key="k", request_hash="h", now=T0)
    assert replayed.outcome is Outcome.REPLAY and replayed.body == '{"key": "rk_shown_once"}'
    other_secret = IdempotencyStore(writers(database).connect, cipher("t" * 32, IDEMPOTENT_ANSWERS))
    assert other_secret.claim(scope="s", key="k", request_hash="h", now=T0).outcome is Outcome.UNREADABLE
