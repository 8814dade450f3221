"""A report's summary as of today, answered before routing (``quick_report_summary``) to a caller
memory admits: the same status, headers and body the route gives, through writes of every kind,
and the route's answer for anything else. As of today both read the stored statuses in one
statement; the figures are the ones the history gives for the same day."""

from datetime import timedelta

import pytest

from app.models import Report
from app.services import summaries
from app.services.as_of import AsOf
from tests.api.test_quick_detail import SAME, _drop_kept_answers, _fresh_reader, _routing_broken
from tests.conftest import TODAY, check_problem

API = "/api/v1"


def _summary_path(kirklees) -> str:
    return f"{API}/reports/{kirklees['report']['id']}/summary"


def _write(client, auth, kirklees, step: int) -> None:
    """One write of each kind the summary counts: statuses, due dates, terminal decisions."""
    recs = kirklees["recommendations"]
    match step:
        case 0:
            rec = recs["1.1"]
            body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
            assert client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body).status_code == 201
        case 1:  # due soon: amber
            rec = recs["3.1"]
            soon = (TODAY + timedelta(days=3)).isoformat()
            response = client.patch_fresh(
                f"{API}/recommendations/{rec['id']}", json={"target_date": soon}, headers=auth("editor", "CHFT")
            )
            assert response.status_code == 200, response.text
        case 2:  # one owner implemented, the other still overdue
            rec = recs["6.1"]
            evidence = {"url": "https://example.org/e", "title": "e", "organisation_code": "CHFT"}
            assert client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=evidence).status_code == 201
            body = {"author": "a", "narrative": "n", "status": "implemented", "organisation_code": "CHFT"}
            assert client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body).status_code == 201
        case 3:  # terminal: grey, and its owners no longer overdue
            rec = recs["1.2"]
            decision = {"decision": "closed_not_implemented", "reason": "Service decommissioned"}
            assert client.post(f"{API}/recommendations/{rec['id']}/decisions", json=decision).status_code == 201


STEPS = 4


@pytest.mark.parametrize("header", [None, "etag", "other"])
def test_the_quick_answer_is_the_routes_through_writes(client, app, auth, kirklees, make_key, header):
    path = _summary_path(kirklees)
    for step in range(STEPS + 1):
        etag = client.get(path).headers["etag"]
        sent = {} if header is None else {"If-None-Match": etag if header == "etag" else 'W/"1-0"'}
        _drop_kept_answers(app)
        reader = _fresh_reader(make_key)
        routed = client.get(path, headers={**reader, **sent})  # a key not in memory yet: the route
        _drop_kept_answers(app)
        _routing_broken(app)
        quick = client.get(path, headers={**reader, **sent})
        app.dependency_overrides.clear()
        assert quick.status_code == routed.status_code == (304 if header == "etag" else 200)
        assert quick.content == routed.content
        assert {h: quick.headers.get(h) for h in SAME} == {h: routed.headers.get(h) for h in SAME}
        if step < STEPS:
            _write(client, auth, kirklees, step)


def test_todays_figures_are_the_historys_for_the_same_day(client, auth, kirklees, session, settings):
    """As of today from the stored statuses (colours and overdue owners in Python) and as of
    the same day from the history (all in SQL): the same summary, organisations in order."""
    path = _summary_path(kirklees)
    report = session.get(Report, kirklees["report"]["id"])
    from_history = AsOf(day=TODAY, today=TODAY + timedelta(days=1), due_soon_working_days=settings.due_soon_working_days)
    seen = set()
    for step in range(STEPS + 1):
        today = client.get(path).json()
        session.rollback()  # a fresh snapshot, with the writes
        history = summaries.report_summary(session, report=report, as_of=from_history).model_dump(mode="json")
        assert today == history
        assert len(today["organisations"]) > 1
        seen.update(colour for colour, n in today["by_rag"].items() if n)
        if step < STEPS:
            _write(client, auth, kirklees, step)
    assert seen >= {"red", "amber", "grey"}


def test_a_missing_report_is_the_routes_404_problem(client, app, kirklees, make_key):
    path = f"{API}/reports/999999/summary"
    reader = _fresh_reader(make_key)
    routed = check_problem(client.get(path, headers=reader), 404, code="not_found")
    past = check_problem(client.get(path, params={"as_of": "2018-06-15"}), 404, code="not_found")
    _routing_broken(app)
    quick = check_problem(client.get(path, headers=reader), 404, code="not_found")

    def same(problem):
        return {k: v for k, v in problem.items() if k != "request_id"}

    assert same(quick) == same(routed) == same(past)


@pytest.mark.parametrize(
    "query, report_id",
    [
        ({"as_of": "2018-06-15"}, None),  # a past day: from the history, in the route
        ({"as_of": "2018-02-30"}, None),  # no date: the route's 422
        ({}, "0"),  # no id: the route's 422
        ({}, "12abc"),
    ],
)
def test_what_only_the_route_can_answer_goes_to_it(client, app, kirklees, query, report_id):
    path = f"{API}/reports/{report_id or kirklees['report']['id']}/summary"
    client.get(_summary_path(kirklees))  # the key in memory
    _routing_broken(app)
    check_problem(client.get(path, params=query), 500, code="internal_error")


def test_a_past_day_is_the_historys(client, kirklees, session, settings):
    day = TODAY - timedelta(days=20)
    answer = client.get(_summary_path(kirklees), params={"as_of": day.isoformat()}).json()
    report = session.get(Report, kirklees["report"]["id"])
    as_of = AsOf(day=day, today=TODAY, due_soon_working_days=settings.due_soon_working_days)
    assert answer == summaries.report_summary(session, report=report, as_of=as_of).model_dump(mode="json")


def test_callers_memory_cannot_admit_go_to_the_route(client, anonymous, app, kirklees):
    path = _summary_path(kirklees)
    client.get(path)
    _drop_kept_answers(app)
    _routing_broken(app)
    check_problem(anonymous.get(path), 401)
    check_problem(client.get(path, headers={"Authorization": "Bearer rtk_not_a_key"}), 401)
