"""Every error, whatever raised it, is a problem document that gives nothing away."""

import pytest

from app.api.deps import get_session


def test_unknown_path_is_a_404_problem(client, problem):
    problem(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_a_405_problem(client, problem):
    problem(client.delete("/api/v1/reports"), 405, detail_contains="DELETE")


def test_malformed_json_is_a_422_problem(client, problem):
    response = client.post(
        "/api/v1/organisations", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(response, 422, code="validation_error")


def test_a_bad_path_parameter_is_a_422_problem(client, problem):
    body = problem(client.get("/api/v1/reports/abc"), 422)
    assert body["errors"][0]["location"] == ["path", "report_id"]


def test_an_oversized_body_is_a_413_problem(client, problem):
    body = b'{"code": "' + b"x" * 2_000_000 + b'"}'
    response = client.post(
        "/api/v1/organisations", content=body, headers={"content-type": "application/json"}
    )
    problem(response, 413)


def test_an_oversized_streamed_body_is_a_413_problem(client, problem):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = client.post(
        "/api/v1/organisations", content=chunks(), headers={"content-type": "application/json"}
    )
    problem(response, 413)


def test_an_unexpected_error_is_a_500_problem_without_details(app, client, problem):
    def broken_session():
        raise RuntimeError("password=hunter2 at /srv/secret/path.py line 12")

    app.dependency_overrides[get_session] = broken_session
    body = problem(client.get("/api/v1/organisations"), 500, code="internal_error")
    text = str(body)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text


def test_the_request_id_is_echoed(client):
    response = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


@pytest.mark.parametrize(
    ("path", "location"),
    [
        # as_of is declared by the route and by its ETag dependency; report_id by the route and
        # by its ETag: each is validated twice, and reported once.
        ("/api/v1/summary?as_of=2026-13-01", ["query", "as_of"]),
        ("/api/v1/reports/abc", ["path", "report_id"]),
    ],
)
def test_each_invalid_parameter_is_reported_once(client, problem, path, location):
    body = problem(client.get(path), 422, code="validation_error")
    assert [error["location"] for error in body["errors"]] == [location]
    assert body["detail"].count(".".join(location)) == 1


def test_distinct_errors_keep_their_order(client, problem):
    response = client.post(
        "/api/v1/organisations", json={"code": "", "name": "", "kind": "nothing", "extra": 1}
    )
    body = problem(response, 422, code="validation_error")
    locations = [error["location"] for error in body["errors"]]
    assert len(locations) == len({tuple(location) for location in locations}) >= 3
    assert locations.index(["body", "code"]) < locations.index(["body", "kind"]), locations
