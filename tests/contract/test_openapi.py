"""The OpenAPI document states the contract, and the app keeps the parts of it that
Schemathesis once found broken (see test_schemathesis.py for the full run)."""

import pytest

from app.api.problems import PROBLEM_MEDIA_TYPE
from app.main import create_app

API = "/api/v1"
OPENAPI = create_app().openapi()


def _operations(method: str | None = None):
    for path, operations in OPENAPI["paths"].items():
        for verb, operation in operations.items():
            if path.startswith(API) and (method is None or verb == method):
                yield f"{verb.upper()} {path}", operation


def _header_names(operation) -> dict[str, dict]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


@pytest.mark.parametrize(
    ("label", "operation"), list(_operations()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_operation_declares_its_problems_with_examples(label, operation):
    responses = operation["responses"]
    assert {"401", "422", "503"} <= set(responses), label
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        content = response["content"]
        assert "application/json" not in content, f"{label} {status}: problems are problem+json only"
        problem = content[PROBLEM_MEDIA_TYPE]
        assert problem.get("example") or status == "415", f"{label} {status}"
        if status != "415":
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}, f"{label} {status}"


@pytest.mark.parametrize(
    ("label", "operation"), list(_operations("get")), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_polled_read_declares_etag_if_none_match_and_304(label, operation):
    if "action-plan" in label:
        pytest.skip("downloads have no ETag")
    assert "If-None-Match" in _header_names(operation), label
    assert "304" in operation["responses"], label
    assert operation["responses"]["200"]["headers"]["ETag"]["required"] is True


@pytest.mark.parametrize(
    ("label", "operation"), list(_operations("patch")), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_patch_requires_if_match_and_declares_412_and_428(label, operation):
    assert _header_names(operation)["If-Match"]["required"] is True
    assert {"412", "428"} <= set(operation["responses"])
    assert "header.If-Match" in str(operation["responses"]["200"]["links"])


@pytest.mark.parametrize(
    ("label", "operation"), list(_operations("post")), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_idempotent_post_declares_a_reused_or_busy_key(label, operation):
    if "Idempotency-Key" in _header_names(operation):
        assert {"409", "422"} <= set(operation["responses"]), label


def test_operation_ids_are_the_route_names_and_links_use_them():
    report = OPENAPI["paths"][f"{API}/reports/{{report_id}}"]
    assert report["get"]["operationId"] == "read_report"
    created = OPENAPI["paths"][f"{API}/reports"]["post"]["responses"]["201"]["links"]
    assert created["ReadReport"] == {
        "operationId": "read_report",
        "description": "The new report.",
        "parameters": {"report_id": "$response.body#/id"},
    }


def test_fields_a_patch_cannot_null_do_not_take_null():
    update = OPENAPI["components"]["schemas"]["OrganisationUpdate"]["properties"]
    assert "anyOf" not in update["name"] and update["name"]["type"] == "string"
    report = OPENAPI["components"]["schemas"]["ReportUpdate"]["properties"]
    assert {"type": "null"} in report["area"]["anyOf"]  # area may be cleared


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", f"{API}/reports", "GET, HEAD, POST"),  # HEAD wherever GET (app.api.middleware.head)
        ("DELETE", f"{API}/reports/1", "GET, HEAD, PATCH"),
        ("GET", f"{API}/reports/import", "POST"),
        ("PUT", f"{API}/keys/1/revoke", "POST"),
    ],
)
def test_a_405_allows_every_method_of_the_path(client, problem, method, path, allow):
    response = client.request(method, path)
    problem(response, 405)
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    "query",
    [
        "as_of=0",  # not a Unix time
        "as_of=1530489600",
        "as_of=2018-07-02T00:00:00",
        "as_of=20180702",
        "as_of=1899-12-31",
        "as_of=2200-01-01",
        "due_before=0015-08-07",
    ],
)
def test_dates_are_yyyy_mm_dd_in_the_supported_years(client, problem, query):
    problem(client.get(f"{API}/recommendations?{query}"), 422)


@pytest.mark.parametrize(
    "until", ["0.5", "2018-07-02T10:00:00", "0152-09-19T03:45:12Z", "9999-12-31T23:59:59-14:00"]
)
def test_instants_have_a_zone_and_a_supported_year(client, problem, until):
    problem(client.get(f"{API}/audit-events", params={"until": until}), 422)


def test_nul_never_reaches_the_database(client, problem, seeded):
    problem(client.post(f"{API}/organisations", json={"code": "NUL", "name": "a\x00b", "kind": "other"}), 422)
    problem(client.get(f"{API}/reports?slug=a%00b"), 422)
    problem(client.get(f"{API}/audit-events?entity=a%00b"), 422)


def test_a_length_limit_counts_what_was_sent(client, problem):
    padded = "\n" + "a" * 100  # 100 once trimmed, 101 as sent
    problem(client.post(f"{API}/keys", json={"name": padded, "role": "viewer"}), 422)
    # At most what the column holds (a 200-character name was a 500 on PostgreSQL).
    assert client.post(f"{API}/keys", json={"name": " " + "a" * 99, "role": "viewer"}).status_code == 201
    problem(client.post(f"{API}/keys", json={"name": "a" * 101, "role": "viewer"}), 422)


def test_an_invalid_request_is_a_422_whatever_its_if_match(client, problem, kirklees):
    recommendation = kirklees["recommendations"]["1.1"]["id"]
    problem(client.patch(f"{API}/recommendations/0", json={}, headers={"If-Match": '"0.20180702"'}), 422)
    problem(
        client.patch(f"{API}/recommendations/{recommendation}", json={"x": 1}, headers={"If-Match": "*"}), 422
    )
    # A tag that is not one of ours (a superscript two, a digit to str.isdigit) is a failed
    # precondition, not a crash.
    response = client.patch(
        f"{API}/recommendations/{recommendation}",
        json={"target_date": None},
        headers={"If-Match": '"\u00b2"'.encode("latin-1")},
    )
    problem(response, 412)


def test_without_credentials_an_idempotency_key_is_neither_claimed_nor_refused(anonymous, problem):
    headers = {"Idempotency-Key": "same-key"}
    for name in ("first", "second"):
        response = anonymous.post(f"{API}/keys", json={"name": name, "role": "viewer"}, headers=headers)
        problem(response, 401)
    bad_key = {**headers, "Authorization": "Bearer rtk_not_a_key"}
    for name in ("first", "second"):
        response = anonymous.post(f"{API}/keys", json={"name": name, "role": "viewer"}, headers=bad_key)
        problem(response, 401)
