import pytest

API = "/api/v1"


def test_every_recommendation_is_listed_with_owners_and_citations(client, kirklees):
    recommendations = kirklees["recommendations"]
    assert len(recommendations) == 25
    assert list(recommendations)[:8] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2"]
    joint = recommendations["6.1"]
    assert [(o["code"], o["status"]) for o in joint["owners"]] == [
        ("SWYPFT", "not_started"),
        ("CHFT", "not_started"),
        ("MYHT", "not_started"),
    ]
    assert [c["paragraph"] for c in recommendations["4.8"]["citations"]] == ["5.1.19", "5.3.7"]
    assert joint["status"] == "not_started"
    assert joint["effective_due_date"] == kirklees["report"]["action_plan_due_date"]
    for field in ("ref", "text", "status", "owners", "effective_due_date", "overdue", "rag"):
        assert field in joint


def test_read_one(client, kirklees, problem):
    one = kirklees["recommendations"]["4.8"]
    assert client.get(f"{API}/recommendations/{one['id']}").json() == one
    problem(client.get(f"{API}/recommendations/99999"), 404)


@pytest.mark.parametrize(
    ("params", "expected_refs"),
    [
        ({"organisation_id": "SWYPFT"}, ["5.1", "6.1"]),
        ({"organisation_id": "swypft"}, ["5.1", "6.1"]),
        ({"organisation_id": "NHSE"}, ["8.1"]),
        ({"organisation_id": "Locala"}, ["2.1", "2.2", "7.1", "7.2", "9.1"]),
        ({"organisation_id": "CGL"}, []),
    ],
)
def test_filter_by_owning_organisation_code(client, kirklees, params, expected_refs):
    body = client.get(f"{API}/recommendations", params=params).json()
    assert [r["ref"] for r in body["items"]] == expected_refs
    assert body["total"] == len(expected_refs)


def test_filter_by_owning_organisation_id(client, kirklees):
    nhse = next(o for r in kirklees["recommendations"].values() for o in r["owners"] if o["code"] == "NHSE")
    body = client.get(f"{API}/recommendations", params={"organisation_id": nhse["organisation_id"]}).json()
    assert [r["ref"] for r in body["items"]] == ["8.1"]


def test_unknown_organisation_filter_is_404(client, kirklees, problem):
    problem(client.get(f"{API}/recommendations", params={"organisation_id": "NOPE"}), 404)


def test_filter_by_report_and_status(client, kirklees):
    report_id = kirklees["report"]["id"]
    one = kirklees["recommendations"]["5.1"]
    client.post(
        f"{API}/recommendations/{one['id']}/progress-updates",
        json={
            "author": "Lead",
            "narrative": "Started",
            "status": "in_progress",
            "organisation_code": "SWYPFT",
        },
    )
    body = client.get(
        f"{API}/recommendations", params={"report_id": report_id, "status": "in_progress"}
    ).json()
    assert [r["ref"] for r in body["items"]] == ["5.1"]
    body = client.get(
        f"{API}/recommendations", params=[("status", "in_progress"), ("status", "not_started")]
    ).json()
    assert body["total"] == 25
    assert client.get(f"{API}/recommendations", params={"report_id": 999}).json()["total"] == 0


def test_create_a_recommendation(client, kirklees):
    report_id = kirklees["report"]["id"]
    response = client.post(
        f"{API}/reports/{report_id}/recommendations",
        json={
            "ref": "9.2",
            "text": "Review the initial health assessment template.",
            "owners": ["Locala", "chft"],
            "citations": [{"paragraph": "4.6", "section": "Looked after children"}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [o["code"] for o in body["owners"]] == ["Locala", "CHFT"]
    assert body["section"] == "Looked after children"
    assert body["status"] == "not_started"
    refs = [
        r["ref"]
        for r in client.get(f"{API}/reports/{report_id}/recommendations", params={"limit": 100}).json()[
            "items"
        ]
    ]
    assert refs[-2:] == ["9.1", "9.2"]


def test_refs_sort_numerically(client, kirklees):
    report_id = kirklees["report"]["id"]
    client.post(
        f"{API}/reports/{report_id}/recommendations",
        json={"ref": "4.10", "text": "A tenth.", "owners": ["NKCCG"]},
    )
    refs = [
        r["ref"]
        for r in client.get(f"{API}/recommendations", params={"organisation_id": "NKCCG"}).json()["items"]
    ]
    assert refs.index("4.10") == refs.index("4.9") + 1


def test_duplicate_ref_is_409(client, kirklees, problem):
    report_id = kirklees["report"]["id"]
    response = client.post(
        f"{API}/reports/{report_id}/recommendations",
        json={"ref": "4.8", "text": "Again.", "owners": ["NKCCG"]},
    )
    problem(response, 409, detail_contains="4.8")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"ref": "10.1", "text": "x", "owners": []}, 422),
        ({"ref": "10.1", "text": "x", "owners": ["NOPE"]}, 422),
        ({"ref": "10.1", "text": "x", "owners": ["MYHT", "myht"]}, 422),
        ({"ref": "ten", "text": "x", "owners": ["MYHT"]}, 422),
        ({"ref": "10.1", "text": "", "owners": ["MYHT"]}, 422),
        ({"ref": "10.1", "text": "x" * 10001, "owners": ["MYHT"]}, 422),
        ({"ref": "10.1", "text": "x", "owners": ["MYHT"], "status": "verified"}, 422),
        (
            {
                "ref": "10.1",
                "text": "x",
                "owners": ["MYHT"],
                "citations": [{"paragraph": "1.1"}, {"paragraph": "1.1"}],
            },
            409,
        ),
    ],
    ids=[
        "no-owner",
        "unknown-owner",
        "owner-twice",
        "bad-ref",
        "empty-text",
        "long-text",
        "status-in-body",
        "cited-twice",
    ],
)
def test_invalid_recommendations_are_refused_and_nothing_is_written(client, kirklees, problem, body, status):
    report_id = kirklees["report"]["id"]
    problem(client.post(f"{API}/reports/{report_id}/recommendations", json=body), status)
    assert client.get(f"{API}/reports/{report_id}").json()["recommendation_count"] == 25


def test_recommendations_of_an_unknown_report_are_404(client, problem):
    problem(client.get(f"{API}/reports/999/recommendations"), 404)
    problem(
        client.post(f"{API}/reports/999/recommendations", json={"ref": "1.1", "text": "x", "owners": ["A"]}),
        404,
    )
