"""The detail (one statement, owners and citations aggregated as JSON by the database) shows
what the lists show (the row, then its owners and citations in queries of their own)."""

import pytest
from sqlmodel import delete

from app.models import RecommendationCitation, RecommendationOwner

API = "/api/v1"


def _update(client, rec, code, status, reported_on):
    if status == "implemented":
        evidence = {"url": "https://example.org/e", "title": "e", "organisation_code": code}
        client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=evidence)
    body = {"author": "a", "narrative": "n", "status": status, "organisation_code": code}
    response = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates", json={**body, "reported_on": reported_on}
    )
    assert response.status_code == 201, response.text


def _decide(client, rec, decision, reason=None):
    body = {"decision": decision, **({"reason": reason} if reason else {})}
    response = client.post(f"{API}/recommendations/{rec['id']}/decisions", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def every_shape(client, kirklees, auth, session):
    """Recommendations with several owners, one and none, with and without citations, target
    dates revised, owners' statuses changed on past days, verified, closed."""
    recs = kirklees["recommendations"]
    joint = recs["6.1"]  # three owners
    _update(client, joint, "SWYPFT", "in_progress", "2018-06-01")
    _update(client, joint, "CHFT", "implemented", "2018-06-20")
    for owner in recs["4.8"]["owners"]:  # cited twice
        _update(client, recs["4.8"], owner["code"], "implemented", "2018-06-10")
    _decide(client, recs["4.8"], "verified")
    _decide(client, recs["1.1"], "closed_not_implemented", "Service decommissioned")
    owner = recs["3.1"]["owners"][0]["code"]
    editor = auth("editor", owner)
    for target in ("2018-09-28", "2018-12-21"):
        moved = client.patch_fresh(
            f"{API}/recommendations/{recs['3.1']['id']}",
            json={"target_date": target, "reason": "Recruitment delayed"},
            headers=editor,
        )
        assert moved.status_code == 200, moved.text
    ownerless, uncited = recs["7.2"], recs["9.1"]
    session.exec(delete(RecommendationOwner).where(RecommendationOwner.recommendation_id == ownerless["id"]))
    session.exec(
        delete(RecommendationCitation).where(RecommendationCitation.recommendation_id == uncited["id"])
    )
    session.commit()
    return kirklees


@pytest.mark.parametrize("as_of", [None, "2018-06-15", "2018-05-01"])
def test_the_detail_shows_what_the_list_shows(client, every_shape, as_of):
    params = {"as_of": as_of} if as_of else {}
    report_id = every_shape["report"]["id"]
    listed = client.get(f"{API}/reports/{report_id}/recommendations", params={"limit": 100, **params})
    items = listed.json()["items"]
    assert len(items) == 25
    shapes = {
        "several owners": lambda r: len(r["owners"]) > 1,
        "no owner": lambda r: not r["owners"],
        "several citations": lambda r: len(r["citations"]) > 1,
        "no citation": lambda r: not r["citations"],
        "revised target": lambda r: r["slippage_working_days"],
        "verified": lambda r: r["status"] == "verified",
        "closed": lambda r: r["status"] == "closed_not_implemented",
        "owners differ": lambda r: len({o["status"] for o in r["owners"]}) > 1,
    }
    if as_of is not None:  # before the decisions and most updates
        for gone in ("verified", "closed") + (("owners differ",) if as_of < "2018-06-01" else ()):
            del shapes[gone]
    assert {name for name, shape in shapes.items() if any(shape(r) for r in items)} == set(shapes)
    for item in items:
        detail = client.get(f"{API}/recommendations/{item['id']}", params=params)
        assert detail.status_code == 200, detail.text
        assert detail.json() == item
        again = client.get(
            f"{API}/recommendations/{item['id']}",
            params=params,
            headers={"If-None-Match": detail.headers["etag"]},
        )
        assert again.status_code == 304
