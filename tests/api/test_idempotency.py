"""Idempotent POSTs: retries replay the first answer and never write twice."""

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from app.models import IdempotencyRecord, Organisation, ProgressUpdate
from app.services.idempotency import Outcome

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


def test_a_claim_whose_request_died_leaves_the_key_free(client, app, kirklees):
    """A crash (kill -9) ends the claim's transaction uncommitted: the retry performs the write once."""
    store = app.state.idempotency_store
    rec = kirklees["recommendations"]["1.1"]
    url = f"{API}/recommendations/{rec['id']}/progress-updates"
    body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
    me = client.get(f"{API}/keys").json()["items"][0]["id"]
    claim = store.claim(scope=f"api-key:{me}", key="died", request_hash="h", now=app.state.clock.now())
    assert claim.outcome is Outcome.NEW
    claim.connection.close()  # the process died: its transaction never committed
    first = client.post(url, json=body, headers={"Idempotency-Key": "died"})
    again = client.post(url, json=body, headers={"Idempotency-Key": "died"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true" and again.json() == first.json()


def test_a_bad_key_writes_no_idempotency_record(client, app, seeded, problem):
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", record)  # the engine the app writes with
    try:
        response = client.post(
            f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "x", "Authorization": "Bearer junk"}
        )
        refused = list(statements)
        client.post(f"{API}/organisations", json=ORG, headers={"Idempotency-Key": "x"})  # the calling key's
    finally:
        event.remove(app.state.engine, "before_cursor_execute", record)
    problem(response, 401, code="invalid_key")
    assert not [s for s in refused if "idempotency_record" in s], refused
    assert [s for s in statements if "idempotency_record" in s]  # the listener sees the store's work


def test_unparseable_json_without_a_key_is_401(client, seeded, problem):
    response = client.post(
        f"{API}/organisations",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": ""},
    )
    problem(response, 401, code="key_required")


def test_a_viewers_write_is_403_whatever_its_idempotency_key(client, auth, session, seeded, problem):
    viewer = auth("viewer")
    for body in (ORG, {**ORG, "code": "BTH"}):
        response = client.post(f"{API}/organisations", json=body, headers={"Idempotency-Key": "v", **viewer})
        problem(response, 403)
    assert _count(session, IdempotencyRecord) == 0


def test_keys_are_scoped_to_the_api_key_not_the_header_spelling(client, session, seeded):
    token = client.headers["authorization"].split(" ", 1)[1]
    before = _count(session, Organisation)
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = client.post(
            f"{API}/organisations",
            json=ORG,
            headers={"Idempotency-Key": "spelling", "Authorization": f"{scheme} {token}"},
        )
        assert response.status_code == 201, response.text
    assert _count(session, Organisation) == before + 1


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
