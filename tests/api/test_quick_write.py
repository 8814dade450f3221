"""A progress update answered before routing (``quick_post``): the route's answer, with the
route's guarantees, and the route's own answer for anything it cannot settle."""

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.api.deps import get_clock
from app.models import AuditEvent, ProgressUpdate
from tests.conftest import Client

API = "/api/v1"
VARIES = ("id", "created_at")  # between two updates of the same request


def _url(rec_id) -> str:
    return f"{API}/recommendations/{rec_id}/progress-updates"


def _body(**extra) -> dict:
    return {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT", **extra}


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


def _routing_broken(app):
    """A dependency of the route that fails: any answer that still comes was given before routing."""

    def broken_clock():
        raise RuntimeError("routing was not skipped")

    app.dependency_overrides[get_clock] = broken_clock


def _count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_quick_answer_is_the_routes(client, app, session, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    # A JSON media type other than application/json: the quick path leaves it to the route.
    routed = client.post(
        _url(rec["id"]), content=_json(_body()), headers={"Content-Type": "application/merge-patch+json"}
    )
    _routing_broken(app)
    audited = _count(session, AuditEvent)
    quick = client.post(_url(rec["id"]), json=_body())
    assert quick.status_code == routed.status_code == 201, quick.text
    assert quick.headers["content-type"] == routed.headers["content-type"]
    assert {k: v for k, v in quick.json().items() if k not in VARIES} == {
        k: v for k, v in routed.json().items() if k not in VARIES
    }
    assert _count(session, ProgressUpdate) == 2 and _count(session, AuditEvent) == audited + 1
    app.dependency_overrides.clear()
    assert client.get(f"{API}/recommendations/{rec['id']}").json()["status"] == "in_progress"


def test_an_idempotency_key_is_claimed_and_replayed_before_routing(client, app, session, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    _routing_broken(app)
    first = client.post(_url(rec["id"]), json=_body(), headers={"Idempotency-Key": "quick-1"})
    again = client.post(_url(rec["id"]), json=_body(), headers={"Idempotency-Key": "quick-1"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotency-replayed"] == "true"
    assert _count(session, ProgressUpdate) == 1


def test_a_refusal_by_the_service_writes_nothing_and_is_kept_under_its_key(
    client, app, session, kirklees, problem
):
    rec = kirklees["recommendations"]["1.1"]
    _routing_broken(app)
    headers = {"Idempotency-Key": "quick-refused"}
    first = problem(client.post(_url(rec["id"]), json=_body(status="implemented"), headers=headers), 422)
    assert first["code"] == "evidence_required"
    problem(client.post(_url(999_999), json=_body()), 404, code="not_found")
    again = client.post(_url(rec["id"]), json=_body(status="implemented"), headers=headers)
    assert again.headers["idempotency-replayed"] == "true" and again.json()["code"] == "evidence_required"
    assert _count(session, ProgressUpdate) == 0


# What the quick path leaves to the route, and the route's answer to it: its body, read once
# already, reaches the route whole.
ROUTE_ANSWERS = [
    ("merge-patch JSON", "1", _json(_body()), "application/merge-patch+json", 201, None),
    ("no content type", "1", _json(_body()), None, 422, "validation_error"),
    ("text/plain", "1", _json(_body()), "text/plain", 422, "validation_error"),
    ("invalid JSON", "1", b'{"author": ', "application/json", 422, "validation_error"),
    ("not UTF-8", "1", b'{"author": "\xff"}', "application/json", 400, "bad_request"),
    (
        "a status that is none",
        "1",
        _json(_body(status="nearly")),
        "application/json",
        422,
        "validation_error",
    ),
    ("a missing field", "1", _json({"status": "in_progress"}), "application/json", 422, "validation_error"),
    ("id zero", "0", _json(_body()), "application/json", 422, "validation_error"),
    ("id not a number", "x1", _json(_body()), "application/json", 422, "validation_error"),
    ("id past 32 bits", "4294967296", _json(_body()), "application/json", 422, "validation_error"),
]


@pytest.mark.parametrize(
    "path_id, content, content_type, status, code",
    [case[1:] for case in ROUTE_ANSWERS],
    ids=[case[0] for case in ROUTE_ANSWERS],
)
def test_what_the_quick_path_leaves_gets_the_routes_answer(
    client, session, kirklees, problem, path_id, content, content_type, status, code
):
    rec_id = kirklees["recommendations"]["1.1"]["id"] if path_id == "1" else path_id
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(_url(rec_id), content=content, headers=headers)
    if code is None:
        assert response.status_code == status, response.text
        assert response.json()["status"] == "in_progress"
    else:
        problem(response, status, code=code)
    assert _count(session, ProgressUpdate) == (1 if status == 201 else 0)


def test_an_editor_of_another_organisation_is_refused_before_anything_is_written(
    served, session, kirklees, auth, problem
):
    rec = kirklees["recommendations"]["1.1"]
    editor = Client(served, auth("editor", "CHFT"))
    problem(editor.post(_url(rec["id"]), json=_body()), 403)
    assert _count(session, ProgressUpdate) == 0
