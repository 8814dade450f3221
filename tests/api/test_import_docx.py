"""POST /api/v1/reports/import with a Word document: as the body, as an upload, told by its content."""

from tests.fixtures.report_docx import borsetshire_docx, kirklees_docx

URL = "/api/v1/reports/import"
DOCX = {"Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def test_a_word_document_previews_then_imports_then_is_unchanged(client):
    data = borsetshire_docx()
    dry = client.post(URL, content=data, headers=DOCX, params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["outcome"], body["written"], body["slug"]) == ("created", False, "borsetshire-clas-2019")
    assert [r["ref"] for r in body["preview"]["recommendations"]] == ["1.1", "1.2", "2.1"]
    assert client.get("/api/v1/reports", params={"slug": "borsetshire-clas-2019"}).json()["total"] == 0
    created = client.post(URL, content=data, headers=DOCX)
    assert created.status_code == 201, created.text
    again = client.post(URL, files={"file": ("borsetshire.docx", data, "application/octet-stream")})
    assert (again.json()["outcome"], again.json()["written"]) == ("unchanged", False)


def test_the_kirklees_word_document_over_the_seed_changes_nothing(client, seeded):
    answer = client.post(
        URL, content=kirklees_docx(), headers={"Content-Type": "text/plain"}
    )  # told by content
    assert answer.status_code == 200, answer.text
    assert (answer.json()["outcome"], answer.json()["warnings"]) == ("unchanged", [])


def test_unreadable_word_documents_are_problems(client, problem, anonymous, auth):
    problem(client.post(URL, content=b"not a word document", headers=DOCX), 422, code="not_a_docx")
    problem(client.post(URL, content=kirklees_docx()[:5000], headers=DOCX), 422, code="broken_docx")
    problem(anonymous.post(URL, content=borsetshire_docx(), headers={**DOCX, **auth("viewer")}), 403)
