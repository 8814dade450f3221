"""Dashboard summaries and the action-plan deadline, for any date."""

from collections import Counter
from datetime import date

import pytest

from app.domain.calendar import get_calendar
from app.domain.deadlines import action_plan_due_date
from tests.api.test_reports import new_report

API = "/api/v1"
E_AND_W = get_calendar("england-and-wales")
KIRKLEES_DUE = action_plan_due_date(date(2018, 5, 4), 20, E_AND_W)


def _update(client, rec, status, organisation=None, reported_on=None):
    body = {"author": "lead", "narrative": "update", "status": status}
    body["organisation_code"] = organisation or rec["owners"][0]["code"]
    if reported_on:
        body["reported_on"] = reported_on
    response = client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body)
    assert response.status_code == 201, response.text


def _evidence(client, rec, organisation=None):
    body = {"url": "https://example.org/evidence", "title": "Evidence"}
    body["organisation_code"] = organisation or rec["owners"][0]["code"]
    assert client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body).status_code == 201


@pytest.fixture
def progressed(client, kirklees):
    """Some progress on the Kirklees review, spread over June 2018."""
    recs = kirklees["recommendations"]
    _update(client, recs["1.1"], "in_progress", reported_on="2018-06-01")
    _evidence(client, recs["1.2"])
    _update(client, recs["1.2"], "implemented", reported_on="2018-06-20")
    _evidence(client, recs["6.1"], "CHFT")
    _update(client, recs["6.1"], "implemented", "CHFT", reported_on="2018-06-10")
    _update(client, recs["6.1"], "in_progress", "MYHT", reported_on="2018-06-15")
    return kirklees


def test_the_deadline_is_explained_day_by_day(client, kirklees):
    body = client.get(
        f"{API}/reports/{kirklees['report']['id']}/deadline", params={"as_of": "2018-05-20"}
    ).json()
    assert body["due_date"] == KIRKLEES_DUE.isoformat()
    assert body["received_date"] == "2018-05-04" and body["working_days"] == 20
    assert len(body["counted_days"]) == 20 and body["counted_days"][-1] == body["due_date"]
    assert body["counted_days"][0] == "2018-05-08"
    skipped = {d["date"]: d["reason"] for d in body["skipped_days"]}
    assert skipped["2018-05-07"] == E_AND_W.non_working_reason(date(2018, 5, 7))
    assert skipped["2018-05-28"] == E_AND_W.non_working_reason(date(2018, 5, 28))
    assert skipped["2018-05-05"] == "Saturday" and skipped["2018-05-06"] == "Sunday"
    assert body["action_plan"]["state"] == "not_yet_due"


@pytest.mark.parametrize(
    ("submitted", "as_of", "state", "late"),
    [
        (None, "2018-05-10", "not_yet_due", None),
        (None, "2018-05-29", "due_soon", None),
        (None, KIRKLEES_DUE.isoformat(), "due_soon", None),
        (None, "2018-06-06", "overdue", 1),
        ("2018-06-01", "2018-06-20", "submitted_on_time", None),
        ("2018-06-01", "2018-05-31", "due_soon", None),
        ("2018-06-07", "2018-06-20", "submitted_late", 2),
    ],
)
def test_the_action_plan_state_as_of_a_date(client, kirklees, submitted, as_of, state, late):
    report_id = kirklees["report"]["id"]
    if submitted:
        client.patch_fresh(f"{API}/reports/{report_id}", json={"action_plan_submitted_date": submitted})
    plan = client.get(f"{API}/reports/{report_id}", params={"as_of": as_of}).json()["action_plan"]
    assert plan["state"] == state
    assert plan["working_days_late"] == late
    summary = client.get(f"{API}/summary", params={"as_of": as_of}).json()
    assert summary["action_plans"][state] == 1


def test_report_summary_before_and_after_the_due_date(client, kirklees):
    report_id = kirklees["report"]["id"]
    before = client.get(f"{API}/reports/{report_id}/summary", params={"as_of": "2018-05-10"}).json()
    assert before["total"] == 25 and before["overdue"] == 0
    assert before["by_rag"]["green"] == 25
    after = client.get(f"{API}/reports/{report_id}/summary", params={"as_of": "2018-06-06"}).json()
    assert after["overdue"] == 25 and after["by_rag"]["red"] == 25
    assert after["by_status"]["not_started"] == 25
    assert after["action_plan"]["state"] == "overdue"


@pytest.mark.parametrize("as_of", ["2018-06-05", "2018-06-12", "2018-06-18", "2018-07-02", "2018-09-01"])
def test_summaries_agree_with_the_lists(client, progressed, as_of):
    report_id = progressed["report"]["id"]
    items = client.get(
        f"{API}/reports/{report_id}/recommendations", params={"limit": 100, "as_of": as_of}
    ).json()["items"]
    summary = client.get(f"{API}/reports/{report_id}/summary", params={"as_of": as_of}).json()
    assert summary["total"] == len(items)
    assert {k: v for k, v in summary["by_status"].items() if v} == dict(Counter(i["status"] for i in items))
    assert {k: v for k, v in summary["by_rag"].items() if v} == dict(Counter(i["rag"] for i in items))
    assert summary["overdue"] == sum(i["overdue"] for i in items)
    assert summary["due_soon"] == sum(i["due_soon"] for i in items)
    overdue_list = client.get(f"{API}/recommendations", params={"overdue": "true", "as_of": as_of}).json()
    assert overdue_list["total"] == summary["overdue"]

    by_owner: dict[str, Counter] = {}
    for item in items:
        for owner in item["owners"]:
            by_owner.setdefault(owner["code"], Counter())[owner["status"]] += 1
    for entry in summary["organisations"]:
        assert {k: v for k, v in entry["by_status"].items() if v} == dict(by_owner[entry["code"]])
        assert entry["recommendations"] == sum(by_owner[entry["code"]].values())


def test_a_joint_recommendation_counts_for_each_owner_with_its_own_status(client, progressed):
    summary = client.get(f"{API}/summary", params={"as_of": "2018-07-02"}).json()
    owners = {o["code"]: o for o in summary["organisations"]}
    assert owners["CHFT"]["by_status"]["implemented"] == 1
    assert owners["MYHT"]["by_status"] == {"not_started": 4, "in_progress": 2, "implemented": 1}
    assert owners["SWYPFT"]["by_status"]["not_started"] == 2
    # CHFT implemented its part of 6.1, so it is not overdue on it; the other two owners are.
    assert owners["CHFT"]["overdue"] == owners["CHFT"]["recommendations"] - 1
    assert summary["by_status"]["implemented"] == 1  # 1.2; 6.1 waits for SWYPFT and MYHT
    assert summary["implemented_or_verified_share"] == round(1 / 25, 4)


def test_organisation_summary(client, progressed, problem):
    myht = next(o for o in progressed["recommendations"]["6.1"]["owners"] if o["code"] == "MYHT")
    body = client.get(
        f"{API}/organisations/{myht['organisation_id']}/summary", params={"as_of": "2018-06-30"}
    ).json()
    assert body["recommendations"] == 7
    assert body["by_status"] == {"not_started": 4, "in_progress": 2, "implemented": 1}
    assert body["overdue"] == 6 and body["reports"] == 1
    assert body["implemented_share"] == round(1 / 7, 4)
    ghccg = next(o for o in progressed["recommendations"]["4.1"]["owners"] if o["code"] == "GHCCG")
    ccg = client.get(
        f"{API}/organisations/{ghccg['organisation_id']}/summary", params={"as_of": "2018-06-30"}
    ).json()
    assert ccg["action_plans"]["overdue"] == 1
    problem(client.get(f"{API}/organisations/999/summary"), 404)


def test_as_of_is_bounded(client, kirklees, problem):
    problem(client.get(f"{API}/summary", params={"as_of": "1066-10-14"}), 422)
    problem(client.get(f"{API}/summary", params={"as_of": "not-a-date"}), 422)


def test_a_cached_summary_never_outlives_a_write(client, kirklees):
    url = f"{API}/reports/{kirklees['report']['id']}/summary"
    assert client.get(url).json()["by_status"]["in_progress"] == 0
    assert client.get(url).json()["by_status"]["in_progress"] == 0  # answered from the cache
    _update(client, kirklees["recommendations"]["5.1"], "in_progress")
    assert client.get(url).json()["by_status"]["in_progress"] == 1


def test_each_report_gets_its_own_summary_from_the_shared_queries(client, kirklees):
    """The report summary's queries are built once per date and shared by every report."""
    created = client.post(f"{API}/reports", json=new_report())
    assert created.status_code == 201, created.text
    kirklees_summary = client.get(f"{API}/reports/{kirklees['report']['id']}/summary").json()
    other = client.get(f"{API}/reports/{created.json()['id']}/summary").json()
    assert kirklees_summary["total"] == len(kirklees["recommendations"]) > 0
    assert other["total"] == 0 and other["organisations"] == []
    assert other["report_id"] == created.json()["id"] != kirklees_summary["report_id"]
