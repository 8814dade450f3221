from datetime import date

import pytest

from app.domain.calendar import get_calendar
from app.domain.deadlines import action_plan_due_date

BASE = "/api/v1/reports"


def new_report(**overrides) -> dict:
    """The body of a report that POST /reports accepts (a second report beside Kirklees)."""
    return {
        "slug": "wakefield-clas-2015",
        "title": "Review of health services for Children Looked After and Safeguarding in Wakefield",
        "regulator": "Care Quality Commission",
        "area": "Wakefield",
        "published_date": "2015-12-18",
        "action_plan_organisations": ["MYHT"],
        **overrides,
    }


def test_the_seeded_report_carries_its_computed_due_date(client, kirklees):
    report = kirklees["report"]
    expected = action_plan_due_date(date(2018, 5, 4), 20, get_calendar("england-and-wales"))
    assert report["action_plan_due_date"] == expected.isoformat()
    assert report["received_date"] == "2018-05-04"
    assert report["recommendation_count"] == 25
    assert [o["code"] for o in report["action_plan_organisations"]] == ["GHCCG", "NKCCG"]


def test_create_defaults_receipt_to_publication(client, seeded):
    response = client.post(BASE, json=new_report())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["received_date"] == "2015-12-18"
    assert body["working_days_allowed"] == 20 and body["calendar"] == "england-and-wales"
    due = action_plan_due_date(date(2015, 12, 18), 20, get_calendar("england-and-wales"))
    assert body["action_plan_due_date"] == due.isoformat()
    assert client.get(response.headers["location"]).json() == body


def test_changing_the_receipt_moves_every_untargeted_due_date(client, kirklees):
    report = kirklees["report"]
    response = client.patch_fresh(
        f"{BASE}/{report['id']}", json={"received_date": "2018-05-14", "calendar": "scotland"}
    )
    assert response.status_code == 200, response.text
    due = action_plan_due_date(date(2018, 5, 14), 20, get_calendar("scotland"))
    assert response.json()["action_plan_due_date"] == due.isoformat()
    items = client.get(f"{BASE}/{report['id']}/recommendations", params={"limit": 100}).json()["items"]
    assert {r["effective_due_date"] for r in items} == {due.isoformat()}


def test_duplicate_slug_is_409(client, seeded, problem):
    problem(
        client.post(BASE, json=new_report(slug="kirklees-clas-2018")),
        409,
        detail_contains="kirklees-clas-2018",
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"calendar": "wales"}, "calendar"),
        ({"working_days_allowed": 0}, "working_days_allowed"),
        ({"working_days_allowed": 366}, "working_days_allowed"),
        ({"published_date": None}, "received_date or published_date"),
        ({"review_start_date": "2018-01-26", "review_end_date": "2018-01-22"}, "review_end_date"),
        ({"action_plan_submitted_date": "2015-01-01"}, "before the report was received"),
        ({"source_url": "javascript:alert(1)"}, "source_url"),
        ({"action_plan_organisations": ["X"] * 51}, "action_plan_organisations"),
        ({"title": "x" * 501}, "title"),
    ],
)
def test_invalid_reports_are_refused(client, seeded, problem, overrides, fragment):
    body = problem(client.post(BASE, json=new_report(**overrides)), 422)
    assert fragment in body["detail"]
    assert client.get(BASE).json()["total"] == 1


def test_unknown_action_plan_organisation_is_refused_and_nothing_is_written(client, seeded, problem):
    problem(
        client.post(BASE, json=new_report(action_plan_organisations=["NOPE"])), 422, detail_contains="NOPE"
    )
    assert client.get(BASE).json()["total"] == 1


def test_a_patch_that_breaks_the_date_rules_changes_nothing(client, kirklees, problem):
    report = kirklees["report"]
    problem(
        client.patch_fresh(f"{BASE}/{report['id']}", json={"action_plan_submitted_date": "2018-01-01"}), 422
    )
    assert client.get(f"{BASE}/{report['id']}").json() == report


def test_list_pages_with_a_link_header(client, seeded):
    for n in range(4):
        client.post(BASE, json=new_report(slug=f"report-{n}"))
    first = client.get(BASE, params={"limit": 2})
    body = first.json()
    assert body["total"] == 5 and len(body["items"]) == 2 and body["offset"] == 0
    assert 'rel="next"' in first.headers["link"] and 'rel="prev"' not in first.headers["link"]
    last = client.get(BASE, params={"limit": 2, "offset": 4})
    assert 'rel="next"' not in last.headers["link"] and 'rel="prev"' in last.headers["link"]
    seen = (
        [r["id"] for r in body["items"]]
        + [r["id"] for r in client.get(BASE, params={"limit": 2, "offset": 2}).json()["items"]]
        + [r["id"] for r in last.json()["items"]]
    )
    assert seen == sorted(seen) and len(set(seen)) == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_page_bounds_are_enforced(client, problem, params):
    problem(client.get(BASE, params=params), 422)
