"""Who may do what: every write route for every role, owners and non-owners.

Refusals are 401 (no or bad key) and 403 (a key that may not do this, or an
editor acting outside its organisation); a refused write leaves no row and
no audit event behind.
"""

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import select

from app.models import ApiKey, AuditEvent

API = "/api/v1"
ROLES = ["admin", "assurer", "editor", "viewer"]


def _rec(kirklees, ref="1.1"):
    return kirklees["recommendations"][ref]


# (name, method, path(kirklees), body(kirklees, acting code) -> json, {role: status}) for routes
# that do not depend on owning the recommendation.
ROLE_CASES = [
    (
        "create organisation",
        "POST",
        lambda k: "/organisations",
        lambda k: {"code": "NEW1", "name": "New", "kind": "other"},
        {"admin": 201},
    ),
    (
        "update organisation",
        "PATCH",
        lambda k: f"/organisations/{_rec(k)['owners'][0]['organisation_id']}",
        lambda k: {"name": "Renamed"},
        {"admin": 200},
    ),
    (
        "create report",
        "POST",
        lambda k: "/reports",
        lambda k: {"slug": "new-report", "title": "T", "regulator": "R", "received_date": "2018-01-02"},
        {"admin": 201},
    ),
    (
        "update report",
        "PATCH",
        lambda k: f"/reports/{k['report']['id']}",
        lambda k: {"action_plan_submitted_date": "2018-06-01"},
        {"admin": 200, "assurer": 200},
    ),
    (
        "create recommendation",
        "POST",
        lambda k: f"/reports/{k['report']['id']}/recommendations",
        lambda k: {"ref": "10.1", "text": "New.", "owners": ["MYHT"]},
        {"admin": 201},
    ),
    (
        "close recommendation",
        "POST",
        lambda k: f"/recommendations/{_rec(k)['id']}/decisions",
        lambda k: {"decision": "closed_not_implemented", "reason": "Superseded"},
        {"admin": 201, "assurer": 201},
    ),
    ("create key", "POST", lambda k: "/keys", lambda k: {"name": "k", "role": "viewer"}, {"admin": 201}),
    ("list keys", "GET", lambda k: "/keys", lambda k: None, {"admin": 200}),
    ("audit events", "GET", lambda k: "/audit-events", lambda k: None, {"admin": 200, "assurer": 200}),
]

# Writes by an owner: (name, method, path, body(kirklees, code or None)).
OWNER_CASES = [
    (
        "progress update",
        "POST",
        lambda k: f"/recommendations/{_rec(k)['id']}/progress-updates",
        lambda code: {
            "author": "a",
            "narrative": "n",
            "status": "in_progress",
            **({"organisation_code": code} if code else {}),
        },
    ),
    (
        "evidence link",
        "POST",
        lambda k: f"/recommendations/{_rec(k)['id']}/evidence-links",
        lambda code: {
            "url": "https://example.org/e",
            "title": "e",
            **({"organisation_code": code} if code else {}),
        },
    ),
    (
        "target date",
        "PATCH",
        lambda k: f"/recommendations/{_rec(k)['id']}",
        lambda code: {"target_date": "2018-09-28", **({"organisation_code": code} if code else {})},
    ),
]

# role, the editor key's organisation, whether the body names the owner -> expected status
OWNER_TABLE = [
    ("admin", None, True, None, 201),
    ("assurer", None, True, None, 201),
    ("admin", None, False, None, 422),  # admins and assurers name the owner they act for
    ("editor", "MYHT", False, "owns", 201),
    ("editor", "MYHT", True, "owns", 201),
    ("editor", "CHFT", False, "does not own", 403),
    ("editor", "CHFT", True, "names another organisation", 403),
    ("viewer", None, True, None, 403),
]


def _counts(session):
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


def _call(client, method, path, body, headers):
    if method == "PATCH":
        return client.patch_fresh(API + path, json=body, headers=headers)
    return client.request(method, API + path, json=body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", ROLE_CASES, ids=[c[0] for c in ROLE_CASES])
def test_role_table(client, kirklees, auth, session, problem, case, role):
    name, method, path, body, allowed = case
    headers = auth(role, "MYHT" if role == "editor" else None)
    events = _counts(session)
    response = _call(client, method, path(kirklees), body(kirklees), headers)
    expected = allowed.get(role, 403)
    assert response.status_code == expected, response.text
    if expected == 403:
        problem(response, 403)
        assert _counts(session) == events
    elif method != "GET":
        assert _counts(session) == events + 1


@pytest.mark.parametrize("row", OWNER_TABLE, ids=lambda r: f"{r[0]}-{r[1]}-{'named' if r[2] else 'unnamed'}")
@pytest.mark.parametrize("case", OWNER_CASES, ids=[c[0] for c in OWNER_CASES])
def test_owner_table(client, kirklees, auth, session, problem, case, row):
    name, method, path, body = case
    role, organisation, names_owner, _why, expected = row
    headers = auth(role, organisation)
    code = (organisation if role == "editor" else "MYHT") if names_owner else None
    events = _counts(session)
    response = _call(client, method, path(kirklees), body(code), headers)
    if expected == 201 and method == "PATCH":
        expected = 200  # a change, not a creation
    assert response.status_code == expected, response.text
    if response.status_code >= 400:
        problem(response, response.status_code)
        assert _counts(session) == events
    else:
        assert _counts(session) == events + 1


def test_every_write_route_is_in_a_table(app):
    covered = {(m, p) for _, m, p, *_ in ROLE_CASES} | {(m, p) for _, m, p, _ in OWNER_CASES}
    covered_methods_paths = set()
    # Resolve the lambdas against a fake Kirklees to learn their templates.
    fake = {
        "report": {"id": "{report_id}"},
        "recommendations": {
            "1.1": {"id": "{recommendation_id}", "owners": [{"organisation_id": "{organisation_id}"}]}
        },
    }
    for method, path in covered:
        covered_methods_paths.add((method, API + path(fake)))
    writes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if method not in ("GET", "HEAD")
    }
    # /keys/{id}/revoke and /reports/import have tests of their own below.
    missing = {
        w
        for w in writes
        if w not in covered_methods_paths and not w[1].endswith("/revoke") and not w[1].endswith("/import")
    }
    assert not missing, f"write routes without an access-control case: {sorted(missing)}"


def test_revoke_is_admin_only(client, auth, seeded, session):
    victim = session.exec(select(ApiKey).where(ApiKey.name == "test admin")).one()
    for role in ("assurer", "editor", "viewer"):
        headers = auth(role, "MYHT" if role == "editor" else None)
        assert client.post(f"{API}/keys/{victim.id}/revoke", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/reports"),
        ("GET", "/reports/1"),
        ("GET", "/recommendations"),
        ("GET", "/summary"),
        ("GET", "/organisations/1/summary"),
        ("POST", "/organisations"),
        ("GET", "/audit-events"),
    ],
)
def test_no_key_is_401_with_a_challenge(anonymous, seeded, problem, method, path):
    response = anonymous.request(method, API + path, json={})
    problem(response, 401, code="key_required")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_api_route_needs_a_key(app, anonymous):
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(API):
            path = route.path.replace("{", "").replace("}", "")
            path = "/".join("1" if part.endswith("_id") else part for part in path.split("/"))
            for method in route.methods:
                response = anonymous.request(method, path, json={})
                assert response.status_code == 401, (method, route.path, response.status_code)


def test_a_bad_or_revoked_key_is_401(client, anonymous, make_key, problem, seeded):
    problem(
        anonymous.get(f"{API}/reports", headers={"Authorization": "Bearer rtk_nope_nope"}),
        401,
        code="invalid_key",
    )
    key = make_key("viewer")
    headers = {"Authorization": f"Bearer {key}"}
    assert anonymous.get(f"{API}/reports", headers=headers).status_code == 200
    listed = client.get(f"{API}/keys", params={"limit": 200}).json()["items"]
    key_id = next(k["id"] for k in listed if key.startswith(k["prefix"]))
    assert client.post(f"{API}/keys/{key_id}/revoke").json()["revoked_at"] is not None
    response = anonymous.get(f"{API}/reports", headers=headers)
    problem(response, 401, code="invalid_key")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_anonymous_reads_when_the_operator_allows_them(app, anonymous, settings, seeded, problem):
    app.state.settings = settings.model_copy(update={"anonymous_reads": True})
    assert anonymous.get(f"{API}/reports").status_code == 200
    assert anonymous.get(f"{API}/summary").status_code == 200
    problem(anonymous.post(f"{API}/organisations", json={"code": "X", "name": "X", "kind": "other"}), 401)
    problem(anonymous.get(f"{API}/audit-events"), 401)


def test_keys_are_stored_only_as_hashes(client, session, seeded):
    created = client.post(
        f"{API}/keys", json={"name": "CHFT team", "role": "editor", "organisation_code": "CHFT"}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("rtk_") and key.startswith(created.json()["prefix"])
    # What follows the public prefix: a URL-safe token, which may itself contain "_".
    secret_part = key.removeprefix(created.json()["prefix"] + "_")
    assert len(secret_part) >= 40
    for row in session.exec(select(ApiKey)):
        for value in row.model_dump().values():
            assert not (isinstance(value, str) and (key in value or secret_part in value))
    listed = client.get(f"{API}/keys").json()
    assert all("key" not in item and "key_hash" not in item for item in listed["items"])
    events = client.get(f"{API}/audit-events", params={"entity": "api_key"}).json()["items"]
    assert secret_part not in str(events) and "key_hash" not in str(events)


def test_last_used_is_recorded(client, anonymous, make_key, seeded):
    key = make_key("viewer", name="dashboard")
    anonymous.get(f"{API}/reports", headers={"Authorization": f"Bearer {key}"})
    item = next(k for k in client.get(f"{API}/keys").json()["items"] if k["name"] == "dashboard")
    assert item["last_used_at"] is not None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "role": "editor"}, "bound to one organisation"),
        ({"name": "x", "role": "viewer", "organisation_code": "CHFT"}, "Only editor keys"),
        ({"name": "x", "role": "editor", "organisation_code": "NOPE"}, "NOPE"),
        ({"name": "x", "role": "root"}, "role"),
    ],
)
def test_bad_key_requests(client, seeded, problem, body, fragment):
    problem(client.post(f"{API}/keys", json=body), 422, detail_contains=fragment)


@pytest.mark.parametrize("role", ["assurer", "editor", "viewer"])
def test_import_is_admin_only(client, auth, seeded, problem, role):
    headers = {
        **auth(role, "MYHT" if role == "editor" else None),
        "Content-Type": "text/plain; charset=utf-8",
    }
    for dry_run in ("true", "false"):
        response = client.post(
            f"{API}/reports/import",
            params={"dry_run": dry_run},
            content=b"Recommendations\n",
            headers=headers,
        )
        problem(response, 403)
