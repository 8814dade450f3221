"""Progress updates and evidence: the only way statuses change."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.models import Organisation, Recommendation, RecommendationOwner

API = "/api/v1"


FIRST_OWNER = object()  # name the recommendation's first owner, as an admin key must


def _owner(rec, organisation):
    return rec["owners"][0]["code"] if organisation is FIRST_OWNER else organisation


def _post_update(client, rec, status, organisation=FIRST_OWNER, **extra):
    body = {"author": "Safeguarding lead", "narrative": f"Now {status}.", "status": status, **extra}
    if organisation := _owner(rec, organisation):
        body["organisation_code"] = organisation
    return client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body)


def _post_evidence(client, rec, organisation=FIRST_OWNER, **extra):
    body = {"url": "https://intranet.example.org/audit.pdf", "title": "Audit report", **extra}
    if organisation := _owner(rec, organisation):
        body["organisation_code"] = organisation
    return client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body)


def _status(client, rec):
    body = client.get(f"{API}/recommendations/{rec['id']}").json()
    return body["status"], {o["code"]: o["status"] for o in body["owners"]}


def test_a_single_owner_moves_through_its_statuses(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    assert _post_update(client, rec, "in_progress").status_code == 201
    assert _status(client, rec) == ("in_progress", {"MYHT": "in_progress"})
    problem(_post_update(client, rec, "implemented"), 422, code="evidence_required")
    assert _post_evidence(client, rec).status_code == 201
    created = _post_update(client, rec, "implemented")
    assert created.status_code == 201, created.text
    assert created.json()["organisation_code"] == "MYHT"
    assert created.json()["reported_on"] == "2018-07-02"
    assert _status(client, rec) == ("implemented", {"MYHT": "implemented"})


def test_joint_ownership_rolls_up_to_the_least_advanced_owner(client, kirklees):
    rec = kirklees["recommendations"]["6.1"]
    _post_update(client, rec, "in_progress", "SWYPFT")
    assert _status(client, rec)[0] == "not_started"
    _post_update(client, rec, "in_progress", "CHFT")
    _post_update(client, rec, "in_progress", "MYHT")
    assert _status(client, rec)[0] == "in_progress"
    _post_evidence(client, rec, "CHFT")
    _post_update(client, rec, "implemented", "CHFT")
    assert _status(client, rec) == (
        "in_progress",
        {"SWYPFT": "in_progress", "CHFT": "implemented", "MYHT": "in_progress"},
    )


def test_evidence_counts_only_for_the_owner_that_gave_it(client, kirklees, problem):
    rec = kirklees["recommendations"]["9.1"]
    _post_evidence(client, rec, "Locala")
    problem(_post_update(client, rec, "implemented", "CHFT"), 422, code="evidence_required")
    assert _post_update(client, rec, "implemented", "Locala").status_code == 201


def test_a_refused_update_leaves_nothing_behind(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.2"]
    problem(_post_update(client, rec, "implemented"), 422)
    listed = client.get(f"{API}/recommendations/{rec['id']}/progress-updates").json()
    assert listed["total"] == 0
    assert _status(client, rec)[0] == "not_started"


def test_progress_on_a_recommendation_that_does_not_exist_is_404(client, kirklees, anonymous, problem):
    body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "CHFT"}
    url = f"{API}/recommendations/{2**31 - 1}/progress-updates"
    problem(anonymous.post(url, json=body), 401)  # who asks comes first: no 404 to strangers
    problem(client.post(url, json=body), 404)


def test_an_organisation_that_does_not_own_it_is_refused(client, kirklees, problem):
    rec = kirklees["recommendations"]["6.1"]
    problem(_post_update(client, rec, "in_progress", "NKCCG"), 422, code="not_an_owner")
    problem(_post_evidence(client, rec, "NKCCG"), 422, code="not_an_owner")
    problem(_post_update(client, rec, "in_progress", "NOBODY"), 422)


def test_a_joint_recommendation_needs_the_owner_named(client, kirklees, problem):
    problem(
        _post_update(client, kirklees["recommendations"]["6.1"], "in_progress", None),
        422,
        detail_contains="SWYPFT, CHFT, MYHT",
    )


def test_reported_on_may_not_be_in_the_future(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    problem(_post_update(client, rec, "in_progress", reported_on="2018-07-03"), 422, detail_contains="future")
    assert _post_update(client, rec, "in_progress", reported_on="2018-07-02").status_code == 201


def test_a_backdated_update_does_not_override_a_later_one(client, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    _post_update(client, rec, "in_progress", reported_on="2018-06-20")
    _post_update(client, rec, "not_started", reported_on="2018-06-01")
    assert _status(client, rec)[0] == "in_progress"
    updates = client.get(f"{API}/recommendations/{rec['id']}/progress-updates").json()["items"]
    assert [u["reported_on"] for u in updates] == ["2018-06-01", "2018-06-20"]


def test_updates_are_append_only(client, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    update = _post_update(client, rec, "in_progress").json()
    path = f"{API}/recommendations/{rec['id']}/progress-updates"
    assert client.put(f"{path}/{update['id']}", json={}).status_code in (404, 405)
    assert client.delete(path).status_code == 405
    assert client.patch(path, json={}).status_code == 405


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.org/a.pdf",
        "https://",
        "not a url",
        "https://example.org/" + "a" * 2000,
    ],
)
def test_evidence_urls_must_be_http_or_https(client, kirklees, problem, url):
    rec = kirklees["recommendations"]["1.1"]
    problem(_post_evidence(client, rec, url=url), 422)
    assert client.get(f"{API}/recommendations/{rec['id']}/evidence-links").json()["total"] == 0


def test_evidence_can_cite_a_progress_update_of_the_same_owner(client, kirklees, problem):
    rec = kirklees["recommendations"]["9.1"]
    locala = _post_update(client, rec, "in_progress", "Locala").json()
    chft = _post_update(client, rec, "in_progress", "CHFT").json()
    linked = _post_evidence(client, rec, "Locala", progress_update_id=locala["id"])
    assert linked.status_code == 201 and linked.json()["progress_update_id"] == locala["id"]
    problem(_post_evidence(client, rec, "Locala", progress_update_id=chft["id"]), 422, code="not_an_owner")
    problem(_post_evidence(client, rec, "Locala", progress_update_id=99999), 404)
    listed = client.get(f"{API}/recommendations/{rec['id']}/evidence-links").json()
    assert [e["title"] for e in listed["items"]] == ["Audit report"]


@pytest.mark.parametrize(
    "body",
    [
        {"author": "a", "narrative": "n", "status": "verified"},
        {"author": "a", "narrative": "n", "status": "done"},
        {"author": "a", "narrative": "", "status": "in_progress"},
        {"author": "a" * 201, "narrative": "n", "status": "in_progress"},
        {"author": "a", "narrative": "n", "status": "in_progress", "organisation_id": 1},
        {"author": "a", "narrative": "n", "status": "in_progress", "reported_on": "yesterday"},
    ],
    ids=["assurer-status", "unknown-status", "empty-narrative", "long-author", "unknown-field", "bad-date"],
)
def test_malformed_updates_are_refused(client, kirklees, problem, body):
    rec = kirklees["recommendations"]["1.1"]
    problem(client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body), 422)


def _rows(session) -> dict:
    """Every recommendation's and every owner's row as committed, by table and id."""
    session.rollback()  # a fresh snapshot: what the API has committed since
    return {
        table.name: {row.id: row._asdict() for row in session.execute(sa.select(table))}
        for table in (Recommendation.__table__, RecommendationOwner.__table__)
    }


def _changed(before: dict, after: dict) -> dict[tuple[str, int], set[str]]:
    """The columns that changed, by row."""
    return {
        (table, row_id): {column for column, value in row.items() if after[table][row_id][column] != value}
        for table, rows in before.items()
        for row_id, row in rows.items()
        if after[table][row_id] != row
    }


@pytest.mark.parametrize(
    ("first", "then", "reported_on", "owner_status_moves"),
    [
        (None, "in_progress", None, True),  # the owner's status moves, and the tallies with it
        ("in_progress", "in_progress", None, False),  # progress reported again
        ("in_progress", "not_started", "2018-07-01", False),  # backdated: the later update stands
    ],
)
def test_a_progress_update_changes_its_owner_and_its_recommendation_and_nothing_else(
    app, client, kirklees, session, clock, first, then, reported_on, owner_status_moves
):
    """On PostgreSQL the update and both statuses are one statement, whose UPDATEs would also
    set any column named like a parameter of another part (app.services.progress): so every
    column of every row is compared, an hour on (created_at stays, updated_at moves)."""
    rec = kirklees["recommendations"]["6.1"]  # three owners: it stays not started throughout
    if first:
        assert _post_update(client, rec, first, "CHFT").status_code == 201
    before = _rows(session)
    app.state.clock = FixedClock(at=clock.at + timedelta(hours=1))  # the same day, later
    extra = {"reported_on": reported_on} if reported_on else {}
    assert _post_update(client, rec, then, "CHFT", **extra).status_code == 201, extra
    changed = _changed(before, _rows(session))
    chft = session.exec(sa.select(Organisation.id).where(Organisation.code == "CHFT")).scalar_one()
    owner = next(
        row_id
        for row_id, row in before["recommendation_owner"].items()
        if (row["recommendation_id"], row["organisation_id"]) == (rec["id"], chft)
    )
    assert set(changed) == {("recommendation", rec["id"]), ("recommendation_owner", owner)}, changed
    assert {"updated_at", "version"} <= changed["recommendation", rec["id"]]
    assert changed["recommendation", rec["id"]] <= {"updated_at", "version", "last_event_on"}
    assert "updated_at" in changed["recommendation_owner", owner]
    assert changed["recommendation_owner", owner] <= {"updated_at", "status", "last_reported_on"}
    assert ("status" in changed["recommendation_owner", owner]) is owner_status_moves
