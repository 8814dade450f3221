"""The detail as of today, answered before routing (``quick_detail``) to a caller memory admits:
the same status, headers and body the route gives, and the route's answer for anything else."""

import pytest

from app.api.deps import get_session
from tests.conftest import check_problem

API = "/api/v1"
SAME = ("etag", "cache-control", "content-type", "content-length")


def _fresh_reader(make_key):
    """Headers of a key this process has not seen: its first request goes through the route."""
    return {"Authorization": f"Bearer {make_key('viewer')}"}


def _routing_broken(app):
    """A route's dependency that fails: any answer that still comes was given before routing."""

    def broken_session():
        raise RuntimeError("routing was not skipped")

    app.dependency_overrides[get_session] = broken_session


def _drop_kept_answers(app):
    app.state.answer_store = type(app.state.answer_store)()


@pytest.mark.parametrize("header", [None, "etag", "other"])
def test_the_quick_answer_is_the_routes(client, app, kirklees, make_key, header):
    rec = kirklees["recommendations"]["6.1"]
    path = f"{API}/recommendations/{rec['id']}"
    etag = client.get(path).headers["etag"]
    sent = {} if header is None else {"If-None-Match": etag if header == "etag" else '"1.19990101"'}
    _drop_kept_answers(app)
    reader = _fresh_reader(make_key)
    routed = client.get(path, headers={**reader, **sent})  # a key not in memory yet: the route
    _drop_kept_answers(app)
    _routing_broken(app)
    quick = client.get(path, headers={**reader, **sent})
    assert quick.status_code == routed.status_code == (304 if header == "etag" else 200)
    assert quick.content == routed.content
    assert {h: quick.headers.get(h) for h in SAME} == {h: routed.headers.get(h) for h in SAME}


def test_a_missing_recommendation_is_the_routes_404_problem(client, app, kirklees, make_key):
    path = f"{API}/recommendations/999999"
    reader = _fresh_reader(make_key)
    routed = check_problem(client.get(path, headers=reader), 404, code="not_found")
    _routing_broken(app)
    quick = check_problem(client.get(path, headers=reader), 404, code="not_found")
    assert {k: v for k, v in quick.items() if k != "request_id"} == {
        k: v for k, v in routed.items() if k != "request_id"
    }


@pytest.mark.parametrize(
    "query, path_id",
    [
        ({"as_of": "2018-06-15"}, None),  # a past day: from the history, in the route
        ({"as_of": "2018-02-30"}, None),  # no date: the route's 422
        ({}, "0"),  # no id: the route's 422
        ({}, "12abc"),
    ],
)
def test_what_only_the_route_can_answer_goes_to_it(client, app, kirklees, query, path_id):
    rec_id = path_id or kirklees["recommendations"]["6.1"]["id"]
    path = f"{API}/recommendations/{rec_id}"
    client.get(f"{API}/recommendations/{kirklees['recommendations']['6.1']['id']}")  # the key in memory
    _routing_broken(app)
    check_problem(client.get(path, params=query), 500, code="internal_error")


def test_callers_memory_cannot_admit_go_to_the_route(client, anonymous, app, kirklees):
    path = f"{API}/recommendations/{kirklees['recommendations']['6.1']['id']}"
    client.get(path)
    _drop_kept_answers(app)
    _routing_broken(app)
    check_problem(anonymous.get(path), 401)
    check_problem(client.get(path, headers={"Authorization": "Bearer rtk_not_a_key"}), 401)


def test_quick_answers_are_counted_under_their_route(client, anonymous, app, kirklees):
    path = f"{API}/recommendations/{kirklees['recommendations']['6.1']['id']}"
    client.get(path)
    _routing_broken(app)
    for rec in list(kirklees["recommendations"].values())[:3]:
        assert client.get(f"{API}/recommendations/{rec['id']}").status_code == 200
    app.dependency_overrides.clear()
    line = next(
        x
        for x in anonymous.get("/metrics").text.splitlines()
        if x.startswith(
            'rectrack_http_requests_total{method="GET",route="/api/v1/recommendations/{recommendation_id}",'
            'status="200"}'
        )
    )
    assert float(line.rsplit(" ", 1)[1]) >= 4
