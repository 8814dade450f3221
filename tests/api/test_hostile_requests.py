"""Requests an attacker would send: numbers beyond the columns, writes beyond a role."""

import ast
import re
from pathlib import Path

import pytest

API = "/api/v1"
HUGE = "9223372036854775808"  # one past a signed 64-bit integer


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/recommendations?organisation_id={HUGE}",
        f"{API}/recommendations?organisation_id=2147483648",
        f"{API}/recommendations?report_id={HUGE}",
        f"{API}/recommendations?limit={HUGE}",
        f"{API}/recommendations?offset={HUGE}",
        f"{API}/reports/{HUGE}",
        f"{API}/organisations/{HUGE}",
        f"{API}/recommendations/{HUGE}/progress-updates",
        f"{API}/changes?after={HUGE}",
        f"{API}/audit-events?entity_id={HUGE}",
    ],
)
def test_integers_beyond_the_columns_are_422_problems(client, seeded, problem, path):
    problem(client.get(path), 422)
    assert client.get(f"{API}/reports").status_code == 200  # the connection is still usable


def test_an_if_match_beyond_the_columns_is_412(client, kirklees, problem):
    url = f"{API}/reports/{kirklees['report']['id']}"
    response = client.patch(url, json={"area": "Kirklees"}, headers={"If-Match": f'"{HUGE}"'})
    problem(response, 412)


def test_an_evidence_link_citing_a_huge_progress_update_is_422(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    body = {
        "url": "https://example.org/e",
        "title": "e",
        "organisation_code": "MYHT",
        "progress_update_id": HUGE,
    }
    problem(client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body), 422)


@pytest.mark.parametrize(
    "changes",
    [
        {"working_days_allowed": 250, "received_date": "2018-11-30"},
        {"working_days_allowed": 250},
        {"title": "Renamed"},
        {"action_plan_organisations": []},
        {"action_plan_submitted_date": "2018-07-20", "calendar": "scotland"},
    ],
)
def test_an_assurer_may_change_only_the_action_plans_submission(client, auth, kirklees, problem, changes):
    url = f"{API}/reports/{kirklees['report']['id']}"
    before = client.get(url).json()
    problem(client.patch_fresh(url, json=changes, headers=auth("assurer")), 403)
    after = client.get(url).json()
    assert after == before


def test_an_assurer_records_the_action_plans_submission(client, auth, kirklees):
    url = f"{API}/reports/{kirklees['report']['id']}"
    response = client.patch_fresh(
        url, json={"action_plan_submitted_date": "2018-07-20"}, headers=auth("assurer")
    )
    assert response.status_code == 200, response.text
    assert response.json()["action_plan_submitted_date"] == "2018-07-20"


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_change_no_report_field(client, auth, kirklees, problem, role):
    url = f"{API}/reports/{kirklees['report']['id']}"
    headers = auth(role, "CHFT") if role == "editor" else auth(role)
    problem(client.patch_fresh(url, json={"action_plan_submitted_date": "2018-07-20"}, headers=headers), 403)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/x", "loopback"),
        ("http://169.254.169.254/", "link-local"),
        ("https://user:x@evil.example/", "user name or password"),
        ("https://example.org/<script>", "'<'"),
        ("https://example.org/\u202etxt.exe", "U+202E"),
        ("https://\u0430pple.com/", "mixes scripts"),
    ],
)
def test_unsafe_evidence_links_are_422_problems_saying_why(client, kirklees, problem, url, reason):
    rec = kirklees["recommendations"]["1.1"]
    body = {"url": url, "title": "e", "organisation_code": "MYHT"}
    refused = problem(client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body), 422)
    assert reason in refused["detail"]


def test_evidence_links_are_stored_normalised(client, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    body = {"url": "HTTPS://Example.ORG/caf\u00e9", "title": "e", "organisation_code": "MYHT"}
    response = client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["url"] == "https://example.org/caf%C3%A9"


@pytest.mark.parametrize("bad", ["\x0b", "\x1b[31m", "\x00", "\x7f", "\x9b31m", "\x0c"])
def test_control_characters_are_refused_in_every_stored_text(client, kirklees, problem, bad):
    report_url = f"{API}/reports/{kirklees['report']['id']}"
    problem(client.patch_fresh(report_url, json={"title": f"Re{bad}view"}), 422)
    problem(
        client.post(f"{API}/organisations", json={"code": "XX", "name": f"X{bad}Y", "kind": "nhs_trust"}), 422
    )
    rec = kirklees["recommendations"]["1.1"]
    progress = {
        "author": "a",
        "narrative": f"do{bad}ne",
        "status": "in_progress",
        "organisation_code": "MYHT",
    }
    problem(client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=progress), 422)
    problem(
        client.post(
            f"{API}/recommendations/{rec['id']}/progress-updates",
            json={**progress, "narrative": "n", "author": f"a{bad}b"},
        ),
        422,
    )


def test_tabs_and_line_breaks_are_kept_in_multi_line_text_only(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    progress = {
        "author": "a",
        "narrative": "line 1\r\n\tline 2",
        "status": "in_progress",
        "organisation_code": "MYHT",
    }
    response = client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=progress)
    assert response.status_code == 201, response.text
    assert response.json()["narrative"] == "line 1\r\n\tline 2"
    problem(
        client.post(
            f"{API}/recommendations/{rec['id']}/progress-updates", json={**progress, "author": "a\tb"}
        ),
        422,
    )


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        (("POST", f"{API}/organisations", {"content": b'{"name": "\xff"}'}), 400, "bad_request"),
        (("POST", f"{API}/organisations", {"content": b"x" * 2_000_000}), 413, "body_too_large"),
        (("POST", f"{API}/organisations", {"json": {}, "headers": {"Idempotency-Key": ""}}), 422, None),
        (("DELETE", f"{API}/reports/1", {}), 405, "method_not_allowed"),
        (("GET", f"{API}/nowhere", {}), 404, "not_found"),
    ],
)
def test_every_problem_has_a_stable_code(client, seeded, problem, request_args, status, code):
    method, url, kwargs = request_args
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    body = problem(client.request(method, url, headers=headers, **kwargs), status, code=code)
    assert body["code"]


def _codes_in_the_source() -> set[str]:
    """Every literal problem code in app/: ``code=...`` arguments, ``code`` class attributes, and the
    document readers' codes (its first argument)."""
    codes: set[str] = set()
    for path in (Path(__file__).parents[2] / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                values += [k.value for k in node.keywords if k.arg == "code"]
                if getattr(node.func, "id", None) == "DocumentUnreadable":
                    values += node.args[:1]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id == "code" and node.value is not None:
                        values.append(node.value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        values += [
                            v
                            for t, v in zip(target.elts, node.value.elts, strict=True)
                            if getattr(t, "id", "") == "code"
                        ]
            values += [branch for v in values if isinstance(v, ast.IfExp) for branch in (v.body, v.orelse)]
            codes |= {v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return codes


def test_the_openapi_document_lists_every_code_the_service_can_answer(client):
    described = client.get("/openapi.json").json()["components"]["schemas"]["Problem"]["properties"]["code"]
    listed = set(re.findall(r"`([a-z0-9_]+)`", described["description"]))
    in_source = _codes_in_the_source()
    assert {"invalid_key", "implausible_date", "pdf_no_text", "webhook_url_refused", "forbidden"} <= in_source
    assert in_source - listed == set()
    assert {"body_too_large", "method_not_allowed", "bad_request"} <= listed  # the codes by status


def test_every_conditional_write_declares_412_and_428(client):
    document = client.get("/openapi.json").json()
    conditional = [
        operation
        for operations in document["paths"].values()
        for operation in operations.values()
        if any(p.get("name") == "If-Match" for p in operation.get("parameters", []))
    ]
    assert len(conditional) >= 3
    for operation in conditional:
        assert {"412", "428"} <= operation["responses"].keys(), operation["operationId"]


def test_progress_before_the_review_began_is_422(client, kirklees, problem):
    rec = kirklees["recommendations"]["1.1"]
    body = {"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"}
    url = f"{API}/recommendations/{rec['id']}/progress-updates"
    problem(client.post(url, json={**body, "reported_on": "1900-01-01"}), 422, code="implausible_date")
    problem(client.post(url, json={**body, "reported_on": "2018-01-21"}), 422, code="implausible_date")
    assert client.post(url, json={**body, "reported_on": "2018-01-22"}).status_code == 201


@pytest.mark.parametrize(
    ("target", "status"),
    [("1900-01-01", 422), ("2199-12-31", 422), ("2028-05-05", 422), ("2028-05-04", 200), ("2019-03-31", 200)],
)
def test_target_dates_stay_within_the_reports_life(client, kirklees, problem, target, status):
    rec = kirklees["recommendations"]["1.1"]
    url = f"{API}/recommendations/{rec['id']}"
    response = client.patch_fresh(
        url, json={"target_date": target, "organisation_code": "MYHT", "reason": "r"}
    )
    if status == 422:
        problem(response, 422, code="implausible_date")
    else:
        assert response.status_code == 200, response.text
