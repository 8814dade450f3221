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


def _write_and_keep(store, *, key: str, request_hash: str, marker: str):
    """A write (an idempotency record standing in for it, under ``marker``) and its key claimed
    with its answer in the same transaction, committed when the key was free."""
    with store.connect() as connection:
        store.begin(connection, now=T0)
        connection.execute(
            IdempotencyRecord.__table__.insert().values(
                scope="write", key=marker, request_hash="-", state="done", created_at=T0
            )
        )
        taken = store.keep_new(
            connection, scope="s", key=key, request_hash=request_hash, now=T0,
            status=201, headers={"content-type": "application/json"}, body=f'{{"made": "{marker}"}}',
        )  # fmt: skip
        if taken is None:
            connection.commit()
        return taken


@pytest.mark.parametrize(
    ("request_hash", "outcome"), [("h", Outcome.REPLAY), ("other", Outcome.MISMATCH)]
)
def test_a_write_whose_key_was_taken_first_is_rolled_back_and_answered_as_the_key_was(
    store, session, request_hash, outcome
):
    assert _write_and_keep(store, key="k", request_hash="h", marker="first") is None
    taken = _write_and_keep(store, key="k", request_hash=request_hash, marker="second")
    assert taken.outcome is outcome
    if outcome is Outcome.REPLAY:
        assert (taken.status, taken.headers, taken.body) == (
            201, {"content-type": "application/json"}, '{"made": "first"}'
        )  # fmt: skip
    assert _keys(session) == {"k", "first"}  # the second write is gone with its claim


def test_a_write_with_its_key_purges_expired_records_in_passing(store, session):
    claimed = store.claim(scope="s", key="old", request_hash="h", now=T0 - RETENTION - PURGE_EVERY)
    store.complete(claimed, status=201, headers={}, body="{}")
    assert _write_and_keep(store, key="new", request_hash="h", marker="made") is None
    assert _keys(session) == {"new", "made"}
