"""A progress update writes, then claims its Idempotency-Key with its answer, in one worker-thread
call (on SQLite, with the write lock free, in one turn of the event loop) and one transaction, so
that SQLite's write lock is never held while the request waits for the event loop."""

from contextvars import ContextVar

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from app.models import IdempotencyRecord, ProgressUpdate
from app.services.encryption import IDEMPOTENT_ANSWERS, cipher

API = "/api/v1"


def _url(rec) -> str:
    return f"{API}/recommendations/{rec['id']}/progress-updates"


def _body(**extra) -> dict:
    return {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT", **extra}


@pytest.fixture
def transactions(app):
    """(each statement, upper-cased, the transaction it ran in as this worker-thread call saw it).

    A worker-thread call runs in a copy of the event loop's context, so a context variable set
    when a transaction begins is seen by the statements of the same call only: a statement made in
    a later call (another hop to a thread) sees none."""
    began: ContextVar[int | None] = ContextVar("began", default=None)
    seen: list[tuple[str, int | None]] = []
    transactions = iter(range(1, 1_000_000))

    def on_begin(_connection) -> None:
        began.set(next(transactions))

    def on_statement(_connection, _cursor, statement, *_args) -> None:
        seen.append((" ".join(statement.split()).upper(), began.get()))

    def on_commit(_connection) -> None:
        seen.append(("COMMIT", began.get()))

    engines = [app.state.engine, app.state.loop_writes.engine]
    listeners = [("begin", on_begin), ("before_cursor_execute", on_statement), ("commit", on_commit)]
    for engine in engines:
        for name, listener in listeners:
            event.listen(engine, name, listener)
    yield seen
    for engine in engines:
        for name, listener in listeners:
            event.remove(engine, name, listener)


# The statement that appends the audit event (on PostgreSQL, with the Idempotency-Key's answer
# when there is one: app.services.audit.HeldEvent).
AUDIT_EVENT = ("INTO AUDIT_EVENT",)
# The statement that appends the progress update: on PostgreSQL it sets the owner's and the
# recommendation's statuses too (app.services.progress).
PROGRESS_UPDATE = ("INTO PROGRESS_UPDATE", "WITH OWNER_ROW AS")


def _of(seen, *words: str) -> list[int | None]:
    return [transaction for statement, transaction in seen if any(w in statement for w in words)]


def test_the_claim_the_write_and_the_answer_commit_in_one_worker_thread_call(
    client, kirklees, transactions, app
):
    postgresql = app.state.engine.dialect.name == "postgresql"
    write_words = (*PROGRESS_UPDATE, *AUDIT_EVENT)
    rec = kirklees["recommendations"]["1.1"]
    transactions.clear()
    response = client.post(_url(rec), json=_body(), headers={"Idempotency-Key": "one-hop"})
    assert response.status_code == 201, response.text
    claim_and_answer = _of(transactions, "INTO IDEMPOTENCY_RECORD", "UPDATE IDEMPOTENCY_RECORD")
    write = _of(transactions, *write_words)
    assert len(claim_and_answer) == 1 and len(write) == 2, transactions  # the claim with its answer
    assert None not in claim_and_answer + write
    assert len(set(claim_and_answer + write + _of(transactions, "COMMIT"))) == 1, transactions
    order = [statement for statement, _ in transactions]
    # The key is claimed after the write, with the answer the write gave: on PostgreSQL in the
    # statement that appends the audit event, on SQLite in one after it.
    key = next(i for i, statement in enumerate(order) if "INTO IDEMPOTENCY_RECORD" in statement)
    written = [i for i, statement in enumerate(order) if any(w in statement for w in write_words)]
    assert max(written) == key if postgresql else max(written) < key, order


def test_a_request_refused_before_the_route_keeps_its_answer_under_its_key(
    client, session, kirklees, problem
):
    rec = kirklees["recommendations"]["1.1"]
    invalid = _body(status="nearly_done")
    first = client.post(_url(rec), json=invalid, headers={"Idempotency-Key": "refused"})
    problem(first, 422, code="validation_error")
    again = client.post(_url(rec), json=invalid, headers={"Idempotency-Key": "refused"})
    assert again.status_code == 422 and again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    reused = client.post(_url(rec), json=_body(), headers={"Idempotency-Key": "refused"})
    problem(reused, 422, code="idempotency_key_reused")
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 0


def test_a_refusal_in_the_write_is_kept_as_the_keys_answer_and_nothing_else(
    client, auth, session, kirklees, problem
):
    rec = kirklees["recommendations"]["1.1"]  # owned by MYHT
    headers = {"Idempotency-Key": "not-mine", **auth("editor", "CHFT")}
    first = problem(client.post(_url(rec), json=_body(organisation_code=None), headers=headers), 403)
    again = client.post(_url(rec), json=_body(organisation_code=None), headers=headers)
    assert again.status_code == 403 and again.json() == first
    assert again.headers["idempotency-replayed"] == "true"
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 0
    assert session.exec(select(IdempotencyRecord.response_status)).all() == [403]


def test_without_a_key_the_write_is_made_once_and_answered_as_with_one(client, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    plain = client.post(_url(rec), json=_body(narrative="plain"))
    keyed = client.post(_url(rec), json=_body(narrative="keyed"), headers={"Idempotency-Key": "k"})
    assert plain.status_code == keyed.status_code == 201
    assert plain.headers["content-type"] == keyed.headers["content-type"] == "application/json"
    assert set(plain.json()) == set(keyed.json())
    assert plain.json()["id"] + 1 == keyed.json()["id"]


def test_the_same_key_with_another_update_is_refused_and_writes_nothing(client, session, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    first = client.post(_url(rec), json=_body(narrative="first"), headers={"Idempotency-Key": "twice"})
    assert first.status_code == 201
    other = client.post(_url(rec), json=_body(narrative="other"), headers={"Idempotency-Key": "twice"})
    problem(other, 422, code="idempotency_key_reused")
    session.rollback()
    assert session.exec(select(ProgressUpdate.narrative)).all() == ["first"]


def test_an_answer_kept_under_another_server_secret_is_refused_not_run_again(
    client, app, session, kirklees, problem
):
    rec = kirklees["recommendations"]["1.1"]
    assert client.post(_url(rec), json=_body(), headers={"Idempotency-Key": "sealed"}).status_code == 201
    store = app.state.idempotency_store
    store.cipher = cipher("another secret key of at least 32 chars", IDEMPOTENT_ANSWERS)
    problem(client.post(_url(rec), json=_body(), headers={"Idempotency-Key": "sealed"}), 409, code="conflict")
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProgressUpdate)).one() == 1


@pytest.mark.parametrize(
    ("child", "body", "written"),
    [
        (
            "evidence-links",
            {"url": "https://example.org/audit.pdf", "title": "Audit", "organisation_code": "MYHT"},
            "INTO EVIDENCE_LINK",
        ),
        (
            "decisions",
            {"decision": "closed_not_implemented", "reason": "Superseded"},
            "INTO ASSURANCE_DECISION",
        ),
    ],
)
def test_evidence_and_decisions_are_written_with_their_key_in_one_transaction_and_replayed(
    client, kirklees, transactions, problem, child, body, written
):
    url = f"{API}/recommendations/{kirklees['recommendations']['1.1']['id']}/{child}"
    transactions.clear()
    first = client.post(url, json=body, headers={"Idempotency-Key": child})
    assert first.status_code == 201, first.text
    claim = _of(transactions, "INTO IDEMPOTENCY_RECORD", "UPDATE IDEMPOTENCY_RECORD")
    write = _of(transactions, written, *AUDIT_EVENT)
    assert len(claim) == 1 and len(write) == 2 and None not in claim + write, transactions
    assert len(set(claim + write + _of(transactions, "COMMIT"))) == 1, transactions
    again = client.post(url, json=body, headers={"Idempotency-Key": child})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    listed = client.get(url).json()
    assert listed["total"] == 1 and listed["items"] == [first.json()]  # written once, answered as listed
    problem(client.post(f"{API}/recommendations/999999/{child}", json=body), 404)
