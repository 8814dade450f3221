"""Answers that show a secret once are kept for their retries, but never in the clear."""

import pytest
from sqlmodel import SQLModel, select

from app.api.deps import get_settings
from app.models import ApiKey, IdempotencyRecord, WebhookEndpoint

API = "/api/v1"
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def hooks(app, client, settings, seeded):
    local = settings.model_copy(update={"webhook_allowed_networks": "127.0.0.0/8"})
    app.dependency_overrides[get_settings] = lambda: local
    return client


def _dump(session) -> str:
    """Every row of every table, as a database dump would show it."""
    session.rollback()  # a new snapshot: the application committed on its own connections
    connection = session.connection()
    return "\n".join(
        repr(tuple(row)) for table in SQLModel.metadata.sorted_tables for row in connection.execute(table.select())
    )


def _post_twice(client, url: str, json: dict | None, key: str):
    first = client.post(url, json=json, headers={"Idempotency-Key": key})
    again = client.post(url, json=json, headers={"Idempotency-Key": key})
    assert first.status_code in (200, 201), first.text
    assert again.status_code == first.status_code
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()  # the secret too: a client that lost the answer gets it
    return first.json()


def test_a_new_webhook_secret_is_replayed_but_not_stored(hooks, session):
    created = _post_twice(hooks, f"{API}/webhooks", {"url": HOOK}, "hook-1")
    assert created["secret"].startswith("whsec_")
    dump = _dump(session)
    assert created["secret"] not in dump
    assert created["secret"].removeprefix("whsec_") not in dump
    assert len(session.exec(select(WebhookEndpoint)).all()) == 1  # the retry wrote nothing
    assert session.exec(select(IdempotencyRecord.state)).one() == "done"


def test_a_rotated_webhook_secret_is_replayed_but_not_stored(hooks, session):
    created = hooks.post(f"{API}/webhooks", json={"url": HOOK}).json()
    rotated = _post_twice(hooks, f"{API}/webhooks/{created['id']}/rotate-secret", None, "rotate-1")
    assert rotated["secret"] != created["secret"]
    dump = _dump(session)
    assert rotated["secret"] not in dump and created["secret"] not in dump
    assert session.get(WebhookEndpoint, created["id"]).version == 2  # rotated once, not twice


def test_a_new_api_key_is_replayed_but_not_stored(client, session, seeded):
    before = len(session.exec(select(ApiKey)).all())
    created = _post_twice(client, f"{API}/keys", {"name": "dashboard", "role": "viewer"}, "key-1")
    assert created["key"]
    assert created["key"] not in _dump(session)
    assert len(session.exec(select(ApiKey)).all()) == before + 1
    viewer = client.get(f"{API}/reports", headers={"Authorization": f"Bearer {created['key']}"})
    assert viewer.status_code == 200  # the replayed key is the real one
