"""Verified closure, target-date revisions and the audit trail."""

from datetime import date

import pytest

from app.domain.calendar import get_calendar

API = "/api/v1"


def _implement(client, rec):
    for owner in rec["owners"]:
        code = owner["code"]
        client.post(
            f"{API}/recommendations/{rec['id']}/evidence-links",
            json={"url": "https://example.org/e", "title": "e", "organisation_code": code},
        )
        response = client.post(
            f"{API}/recommendations/{rec['id']}/progress-updates",
            json={"author": "a", "narrative": "done", "status": "implemented", "organisation_code": code},
        )
        assert response.status_code == 201, response.text


def _decide(client, rec, decision, reason=None, **kwargs):
    body = {"decision": decision, **({"reason": reason} if reason else {})}
    return client.post(f"{API}/recommendations/{rec['id']}/decisions", json=body, **kwargs)


def _status(client, rec, **params):
    return client.get(f"{API}/recommendations/{rec['id']}", params=params).json()["status"]


def test_verify_needs_every_owner_implemented(client, kirklees, problem):
    rec = kirklees["recommendations"]["6.1"]
    problem(_decide(client, rec, "verified"), 409, code="not_implemented")
    _implement(client, rec)
    assert _status(client, rec) == "implemented"
    assert _decide(client, rec, "verified").status_code == 201
    assert _status(client, rec) == "verified"
    assert client.get(f"{API}/recommendations/{rec['id']}").json()["rag"] == "blue"


def test_verified_and_closed_are_terminal_until_reopened(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    assert _decide(client, rec, "closed_not_implemented", "Service decommissioned").status_code == 201
    assert client.get(f"{API}/recommendations/{rec['id']}").json()["rag"] == "grey"
    update = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
    problem(
        client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=update),
        409,
        code="recommendation_closed",
    )
    problem(_decide(client, rec, "verified"), 409, code="recommendation_closed")
    problem(_decide(client, rec, "reopened"), 422, detail_contains="reason")
    assert _decide(client, rec, "reopened", "New evidence of risk").status_code == 201
    assert _status(client, rec) == "not_started"
    assert client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=update).status_code == 201
    decisions = client.get(f"{API}/recommendations/{rec['id']}/decisions").json()["items"]
    assert [d["decision"] for d in decisions] == ["closed_not_implemented", "reopened"]


def test_closing_needs_a_reason_and_reopening_needs_a_closed_recommendation(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.2"]
    problem(_decide(client, rec, "closed_not_implemented"), 422, detail_contains="reason")
    problem(_decide(client, rec, "reopened", "why"), 409)


def test_a_decision_counts_from_the_day_it_was_made(client, kirklees, clock):
    rec = kirklees["recommendations"]["1.3"]
    _decide(client, rec, "closed_not_implemented", "Superseded by 1.2")
    assert _status(client, rec, as_of=clock.today().isoformat()) == "closed_not_implemented"
    assert _status(client, rec, as_of="2018-06-10") == "not_started"
    summary = client.get(f"{API}/summary", params={"as_of": "2018-06-10"}).json()
    assert summary["by_status"]["closed_not_implemented"] == 0


def test_target_dates_keep_their_history_and_slippage(client, kirklees, auth, problem):
    rec = kirklees["recommendations"]["3.1"]
    chft = auth("editor", "CHFT")
    first = client.patch_fresh(
        f"{API}/recommendations/{rec['id']}", json={"target_date": "2018-09-28"}, headers=chft
    )
    assert first.status_code == 200, first.text
    assert first.json()["original_target_date"] == "2018-09-28"
    assert first.json()["effective_due_date"] == "2018-09-28"
    assert first.json()["slippage_working_days"] == 0

    client.patch_fresh(
        f"{API}/reports/{kirklees['report']['id']}", json={"action_plan_submitted_date": "2018-06-01"}
    )
    problem(
        client.patch_fresh(
            f"{API}/recommendations/{rec['id']}", json={"target_date": "2018-12-21"}, headers=chft
        ),
        422,
        detail_contains="needs a reason",
    )
    moved = client.patch_fresh(
        f"{API}/recommendations/{rec['id']}",
        json={"target_date": "2018-12-21", "reason": "Recruitment delayed"},
        headers=chft,
    ).json()
    expected = get_calendar("england-and-wales").working_days_between(date(2018, 9, 28), date(2018, 12, 21))
    assert moved["original_target_date"] == "2018-09-28" and moved["target_date"] == "2018-12-21"
    assert moved["slippage_working_days"] == expected
    revisions = client.get(f"{API}/recommendations/{rec['id']}/target-date-revisions").json()["items"]
    assert [(r["old_date"], r["new_date"], r["reason"]) for r in revisions] == [
        (None, "2018-09-28", None),
        ("2018-09-28", "2018-12-21", "Recruitment delayed"),
    ]
    assert all(r["api_key_id"] for r in revisions)


def test_bodies_cannot_set_computed_fields_or_statuses(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    for body in (
        {"status": "verified"},
        {"effective_due_date": "2030-01-01"},
        {"owners": []},
        {"version": 3},
    ):
        problem(
            client.patch_fresh(f"{API}/recommendations/{rec['id']}", json={"target_date": None, **body}), 422
        )


WRITES = [
    (
        "organisation",
        "create",
        lambda k: ("POST", "/organisations", {"code": "NEWORG", "name": "N", "kind": "other"}),
    ),
    (
        "report",
        "update",
        lambda k: ("PATCH", f"/reports/{k['report']['id']}", {"area": "Kirklees, West Yorkshire"}),
    ),
    (
        "progress_update",
        "create",
        lambda k: (
            "POST",
            f"/recommendations/{k['recommendations']['1.1']['id']}/progress-updates",
            {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"},
        ),
    ),
    (
        "evidence_link",
        "create",
        lambda k: (
            "POST",
            f"/recommendations/{k['recommendations']['1.1']['id']}/evidence-links",
            {"url": "https://example.org/x", "title": "x", "organisation_code": "MYHT"},
        ),
    ),
    (
        "recommendation",
        "change_target_date",
        lambda k: (
            "PATCH",
            f"/recommendations/{k['recommendations']['1.1']['id']}",
            {"target_date": "2018-10-01", "organisation_code": "MYHT"},
        ),
    ),
    (
        "recommendation",
        "closed_not_implemented",
        lambda k: (
            "POST",
            f"/recommendations/{k['recommendations']['1.1']['id']}/decisions",
            {"decision": "closed_not_implemented", "reason": "r"},
        ),
    ),
    ("api_key", "create", lambda k: ("POST", "/keys", {"name": "n", "role": "viewer"})),
]


@pytest.mark.parametrize(("entity", "action", "request_of"), WRITES, ids=[f"{w[0]}-{w[1]}" for w in WRITES])
def test_every_write_leaves_an_audit_event(client, kirklees, entity, action, request_of):
    method, path, body = request_of(kirklees)
    headers = {"X-Request-ID": f"req-{entity}-{action}"}
    if method == "PATCH":
        response = client.patch_fresh(API + path, json=body, headers=headers)
    else:
        response = client.request(method, API + path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    events = client.get(f"{API}/audit-events", params={"entity": entity, "action": action}).json()["items"]
    event = events[0]
    assert event["request_id"] == f"req-{entity}-{action}"
    assert event["role"] == "admin" and event["api_key_id"]
    assert event["after"] is not None and event["occurred_at"]


def test_a_refused_write_leaves_no_event_and_no_row(client, kirklees, auth):
    chft_editor = auth("editor", "CHFT")
    before = client.get(f"{API}/audit-events").json()["total"]
    rec = kirklees["recommendations"]["1.1"]
    response = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "implemented", "organisation_code": "MYHT"},
    )
    assert response.status_code == 422
    response = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "in_progress"},
        headers=chft_editor,
    )
    assert response.status_code == 403
    assert client.get(f"{API}/audit-events").json()["total"] == before
    assert client.get(f"{API}/recommendations/{rec['id']}/progress-updates").json()["total"] == 0


def test_audit_events_are_append_only_and_filterable(client, kirklees):
    assert client.delete(f"{API}/audit-events").status_code == 405
    assert client.put(f"{API}/audit-events", json={}).status_code == 405
    created = client.post(f"{API}/organisations", json={"code": "AUD", "name": "A", "kind": "other"}).json()
    found = client.get(
        f"{API}/audit-events", params={"entity": "organisation", "entity_id": created["id"]}
    ).json()
    assert found["total"] == 1 and found["items"][0]["after"]["code"] == "AUD"
    assert client.get(f"{API}/audit-events", params={"since": "2100-01-01T00:00:00Z"}).json()["total"] == 0
    assert client.get(f"{API}/audit-events", params={"since": "2018-01-01T00:00:00"}).status_code == 422
