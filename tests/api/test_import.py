"""POST /api/v1/reports/import: text bodies and file uploads, dry runs, re-imports and refusals."""


import pytest

from seed import KIRKLEES_SOURCE

URL = "/api/v1/reports/import"
TEXT = {"Content-Type": "text/plain; charset=utf-8"}
MYHT = "The Mid Yorkshire Hospitals NHS Trust"
CCGS = "NHS North Kirklees CCG and NHS Greater Huddersfield CCG"
NEW_TRUST = "Alpha and Beta NHS Foundation Trust"
GROUPS = [
    (MYHT, ["Ensure that maternity records are legible.", "Train staff in the new pathway."]),
    (f"{CCGS} and {MYHT}", ["Agree the strategy for the front door."]),
    (NEW_TRUST, ["Speed up the handover of care."]),
]


def report_text(groups=GROUPS, area: str = "Testshire") -> str:
    """A report in the CQC review format; each recommendation is cited by one paragraph of 1. Early help."""
    refs = [f"{g}.{i}" for g, (_, items) in enumerate(groups, 1) for i in range(1, len(items) + 1)]
    body = [f"1.{n} We found things to improve. [Recommendation {ref}](#)\n" for n, ref in enumerate(refs, 1)]
    recommendations = []
    for g, (owners, items) in enumerate(groups, 1):
        recommendations += [f"{g}. {owners} should:\n", *(f"{g}.{i} {t}" for i, t in enumerate(items, 1)), ""]
    return "\n".join(
        [
            f"Review of health services for Children Looked-after and Safeguarding in {area}\n",
            "Date of review: 4 March 2019 to 8 March 2019",
            "Date of publication: 17 May 2019\n",
            "1. Early help\n",
            *body,
            "Recommendations\n",
            *recommendations,
            "Next steps\n",
            "An action plan addressing the recommendations above is required from NHS North Kirklees CCG, "
            "within 20 working days of receipt of this report.",
        ]
    )


def post_text(client, text: str, **params):
    return client.post(URL, content=text.encode("utf-8"), headers=TEXT, params=params)


def report_count(client) -> int:
    return client.get("/api/v1/reports").json()["total"]


def test_a_dry_run_answers_the_full_preview_and_writes_nothing(client, seeded):
    before = client.get("/api/v1/organisations").json()["total"], report_count(client)
    response = post_text(client, report_text(), dry_run="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["dry_run"], body["written"], body["report_id"]) == (
        "created",
        True,
        False,
        None,
    )
    assert body["slug"] == "testshire-clas-2019"
    preview = body["preview"]
    assert preview["report"]["received_date"] == "2019-05-17"
    assert preview["report"]["regulator"] == "Care Quality Commission"
    joint = preview["recommendations"][2]
    assert [(o["code"], o["resolution"]) for o in joint["owners"]] == [
        ("NKCCG", "matched"),
        ("GHCCG", "matched"),
        ("MYHT", "matched"),
    ]
    assert joint["citations"] == [{"paragraph": "1.3", "section": "Early help", "line": 12, "page": None}]
    new = preview["recommendations"][3]["owners"][0]
    assert (new["resolution"], new["code"], new["kind"]) == ("new", "ABFT", "foundation_trust")
    assert body["organisations_created"] == [
        {"id": None, "code": "ABFT", "name": NEW_TRUST, "kind": "foundation_trust"}
    ]
    assert body["warnings"] == [] and body["blockers"] == []
    assert (client.get("/api/v1/organisations").json()["total"], report_count(client)) == before


def test_import_creates_the_report_then_a_second_import_is_unchanged(client, seeded):
    response = post_text(client, report_text())
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["outcome"], body["written"]) == ("created", True)
    report = client.get(response.headers["location"]).json()
    assert report["id"] == body["report_id"] and report["slug"] == "testshire-clas-2019"
    assert report["recommendation_count"] == 4
    assert [o["code"] for o in report["action_plan_organisations"]] == ["NKCCG"]
    items = client.get(f"/api/v1/reports/{report['id']}/recommendations").json()["items"]
    assert [o["code"] for o in items[2]["owners"]] == ["NKCCG", "GHCCG", "MYHT"]
    assert [o["code"] for o in items[3]["owners"]] == ["ABFT"]

    again = post_text(client, report_text())
    assert again.status_code == 200, again.text
    assert (again.json()["outcome"], again.json()["report_id"]) == ("unchanged", report["id"])
    assert client.get(f"/api/v1/reports/{report['id']}").json()["updated_at"] == report["updated_at"]


def test_a_file_upload_imports_too(client, seeded):
    files = {"file": ("testshire.txt", report_text().encode("utf-8"), "text/plain")}
    response = client.post(
        URL, files=files, params={"slug": "testshire-upload", "received_date": "2019-05-20"}
    )
    assert response.status_code == 201, response.text
    report = client.get(f"/api/v1/reports/{response.json()['report_id']}").json()
    assert (report["slug"], report["received_date"]) == ("testshire-upload", "2019-05-20")


def test_an_upload_without_the_file_field_is_422(client, seeded, problem):
    response = client.post(URL, files={"report": ("a.txt", b"text", "text/plain")})
    problem(response, 422, code="no_file", detail_contains="'file'")


def test_an_amended_text_is_reported_then_applied(client, seeded):
    report_id = post_text(client, report_text()).json()["report_id"]
    amended = [(MYHT, ["Ensure that all maternity records are legible."]), *GROUPS[1:]]
    detected = post_text(client, report_text(amended))
    assert detected.status_code == 200, detected.text
    body = detected.json()
    assert body["outcome"] == "changes_detected" and body["written"] is False
    assert {(d["ref"], d["change"]) for d in body["differences"]} >= {
        ("1.1", "text_changed"),
        ("1.2", "removed"),
    }
    assert client.get(f"/api/v1/reports/{report_id}").json()["recommendation_count"] == 4

    applied = post_text(client, report_text(amended), apply_changes="true")
    assert applied.status_code == 201, applied.text
    assert applied.json()["outcome"] == "changes_applied"
    items = client.get(f"/api/v1/reports/{report_id}/recommendations").json()["items"]
    assert [i["ref"] for i in items] == ["1.1", "2.1", "3.1"]
    assert items[0]["text"] == "Ensure that all maternity records are legible."


def test_the_real_report_over_the_seed_is_unchanged(client, kirklees):
    files = {"file": (KIRKLEES_SOURCE.name, KIRKLEES_SOURCE.read_bytes(), "text/plain")}
    response = client.post(URL, files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["slug"], body["report_id"]) == (
        "unchanged",
        "kirklees-clas-2018",
        kirklees["report"]["id"],
    )


def test_an_ambiguous_name_is_a_409_with_the_candidates(client, seeded, problem):
    for code, name in [("OHT1", "Omega Health Trust"), ("OHT2", "Omega Hospitals Trust")]:
        client.post("/api/v1/organisations", json={"code": code, "name": name, "kind": "nhs_trust"})
    before = report_count(client)
    body = problem(post_text(client, report_text([*GROUPS, ("OHT", ["Improve supervision."])])), 409)
    assert body["code"] == "ambiguous_organisation" and "OHT" in body["detail"]
    assert {c["code"] for c in body["blockers"][0]["candidates"]} == {"OHT1", "OHT2"}
    assert report_count(client) == before


def test_repeated_refs_are_a_422(client, seeded, problem):
    text = report_text().replace("1.2 Train staff", "1.1 Train staff")
    body = problem(post_text(client, text), 422, code="duplicate_ref", detail_contains="1.1 appears 2 times")
    assert body["blockers"][0]["line"] > 0


def test_text_that_is_not_a_report_is_a_422_with_the_line(client, seeded, problem):
    text = "Minutes of the board\n\nAttendees: everyone\n\nRecommendations\n\nNone this time.\n"
    body = problem(post_text(client, text), 422, code="not_a_report", detail_contains="line 5")
    assert body["line"] == 5 and "should:" in body["detail"]


def test_text_that_is_not_utf8_is_a_422(client, seeded, problem):
    response = client.post(URL, content=b"Review of\n\xe9t\xe9 services\n", headers=TEXT)
    body = problem(response, 422, code="not_utf8", detail_contains="line 2")
    assert body["line"] == 2


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain; charset=iso-8859-1", "application/octet-stream"]
)
def test_other_media_types_are_415(client, seeded, problem, content_type):
    response = client.post(URL, content=b"text", headers={"Content-Type": content_type})
    problem(response, 415, code="unsupported_media_type")


def test_a_body_over_the_limit_is_413(client, seeded, settings, problem):
    problem(post_text(client, "x" * (settings.max_body_bytes + 1)), 413)


def test_importing_needs_an_admin_key(anonymous, auth, seeded, problem):
    problem(post_text(anonymous, report_text()), 401)
    response = anonymous.post(URL, content=report_text().encode(), headers={**TEXT, **auth("viewer")})
    problem(response, 403)


def test_get_on_the_import_path_is_a_405_not_a_report_lookup(client, kirklees, problem):
    response = client.get(URL)
    problem(response, 405, detail_contains="GET is not allowed")
    assert response.headers["allow"] == "POST"
    assert client.get(f"/api/v1/reports/{kirklees['report']['id']}").status_code == 200


def test_swagger_offers_a_text_box_and_a_file_upload(client):
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    content = operation["requestBody"]["content"]
    assert content["text/plain"]["schema"] == {"type": "string"}
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert {"dry_run", "apply_changes", "slug", "received_date", "regulator"} <= {
        p["name"] for p in operation["parameters"]
    }
    assert {"200", "201", "409", "415", "422"} <= operation["responses"].keys()


def test_a_long_owner_list_is_read_not_refused(client, seeded):
    owners = ", ".join(f"Org{i} Trust" for i in range(100))
    text = report_text().replace(f"1. {MYHT} should:", f"1. {owners} should:")
    response = post_text(client, text, dry_run="true")
    assert response.status_code == 200, response.text
    assert len(response.json()["preview"]["organisations"]) >= 100
