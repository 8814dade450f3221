"""Idempotent POSTs: retries replay the first answer and never write twice."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.models import Organisation, ProgressUpdate

API = "/api/v1"
ORG = {"code": "LTHT", "name": "Leeds Teaching Hospitals NHS Trust", "kind": "nhs_trust"}


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_retry_replays_the_first_answer(client, session, seeded):
    before = _count(session, Organisation)
    first = client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "org-1"})
    assert first.status_code == 201
    again = client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "org-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotency-replayed"] == "true"
    assert _count(session, Organisation) == before + 1


def test_errors_are_replayed_too(client, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    body = {"author": "a", "narrative": "n", "status": "implemented", "organisation_code": "MYHT"}
    url = f"{API}/recommendations/{rec['id']}/progress-updates"
    first = client.post(url, json=body, headers={"Idempotency-Key": "impl-1"})
    assert first.status_code == 422
    # Evidence arrives, but the same key still answers as it first did.
    client.post(
        f"{API}/recommendations/{rec['id']}/evidence-links",
        json={"url": "https://example.org/e", "title": "e", "organisation_code": "MYHT"},
    )
    again = client.post(url, json=body, headers={"Idempotency-Key": "impl-1"})
    assert again.status_code == 422 and again.json() == first.json()
    assert client.post(url, json=body, headers={"Idempotency-Key": "impl-2"}).status_code == 201


def test_the_same_key_with_another_body_is_refused(client, session, seeded, problem):
    client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "k"})
    other = client.post(f"{API}/organisations", json={**ORG, "code": "BTH"}, headers={"Idempotency-Key": "k"})
    problem(other, 422, code="idempotency_key_reused")
    assert session.exec(select(Organisation).where(Organisation.code == "BTH")).first() is None


def test_keys_belong_to_the_calling_key(client, auth, session, seeded):
    first = client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "shared"})
    assert first.status_code == 201
    other_admin = auth("admin")
    second = client.post(
        f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "shared", **other_admin}
    )
    assert second.status_code == 409  # a new request for that admin: the code is taken
    assert "idempotency-replayed" not in second.headers


def test_a_retry_while_the_first_is_running_is_409(client, app, kirklees, problem):
    from app.services.idempotency import Outcome

    store = app.state.idempotency_store
    rec = kirklees["recommendations"]["1.1"]
    url = f"{API}/recommendations/{rec['id']}/progress-updates"
    body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
    # Simulate a first request that has claimed the key and not finished.
    import hashlib
    import json as _json

    scope = hashlib.sha256(client.headers["authorization"].encode()).hexdigest()
    raw = _json.dumps(body, separators=(",", ":")).encode()
    claim = store.claim(
        scope=scope,
        key="slow",
        request_hash=hashlib.sha256(b"POST" + url.encode() + b"?" + raw).hexdigest(),
        now=app.state.clock.now(),
    )
    assert claim.outcome is Outcome.NEW
    response = client.post(
        url, content=raw, headers={"Idempotency-Key": "slow", "Content-Type": "application/json"}
    )
    problem(response, 409, code="request_in_progress")
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_malformed_keys_are_refused(client, seeded, problem, key):
    response = client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": key.encode("utf-8")})
    problem(response, 422)


def test_progress_updates_are_written_once(client, session, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
    for _ in range(3):
        response = client.post(
            f"{API}/recommendations/{rec['id']}/progress-updates",
            json=body,
            headers={"Idempotency-Key": "p-1"},
        )
        assert response.status_code == 201
    assert _count(session, ProgressUpdate) == 1
