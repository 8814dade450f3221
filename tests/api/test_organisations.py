import pytest

BASE = "/api/v1/organisations"
NEW = {"code": "LTHT", "name": "Leeds Teaching Hospitals NHS Trust", "kind": "nhs_trust"}


def test_create_read_update_and_list(client):
    created = client.post(BASE, json=NEW)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "LTHT" and body["kind"] == "nhs_trust"
    assert created.headers["location"].endswith(f"{BASE}/{body['id']}")

    assert client.get(f"{BASE}/{body['id']}").json() == body

    patched = client.patch_fresh(f"{BASE}/{body['id']}", json={"name": "Leeds Teaching Hospitals"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Leeds Teaching Hospitals"
    assert patched.json()["code"] == "LTHT"

    listed = client.get(BASE, params={"kind": "nhs_trust"}).json()
    assert [o["code"] for o in listed["items"]] == ["LTHT"]
    assert listed["total"] == 1


def test_codes_are_unique_whatever_their_case(client, problem):
    client.post(BASE, json=NEW)
    problem(client.post(BASE, json={**NEW, "code": "ltht"}), 409, detail_contains="already used")


def test_renaming_onto_another_code_conflicts(client, problem):
    client.post(BASE, json=NEW)
    other = client.post(BASE, json={**NEW, "code": "BTHFT"}).json()
    problem(client.patch_fresh(f"{BASE}/{other['id']}", json={"code": "LTHT"}), 409)


@pytest.mark.parametrize(
    "body",
    [
        {**NEW, "unexpected": 1},
        {**NEW, "kind": "hospital"},
        {**NEW, "code": ""},
        {**NEW, "code": "has space"},
        {**NEW, "code": "X" * 33},
        {**NEW, "name": "x" * 301},
        {"code": "X", "kind": "ccg"},
    ],
    ids=["unknown-field", "bad-kind", "empty-code", "space-in-code", "long-code", "long-name", "no-name"],
)
def test_bad_bodies_are_refused_and_nothing_is_written(client, problem, body):
    problem(client.post(BASE, json=body), 422, code="validation_error")
    assert client.get(BASE).json()["total"] == 0


def test_patch_refuses_null_for_a_required_field(client, problem):
    created = client.post(BASE, json=NEW).json()
    problem(
        client.patch_fresh(f"{BASE}/{created['id']}", json={"name": None}),
        422,
        detail_contains="cannot be null",
    )


def test_unknown_organisation_is_404(client, problem):
    problem(client.get(f"{BASE}/999"), 404, code="not_found")
    problem(client.patch_fresh(f"{BASE}/999", json={"name": "x"}), 404)
