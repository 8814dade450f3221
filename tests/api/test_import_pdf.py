"""POST /api/v1/reports/import with the published PDF: as the body, as an upload, told by its content."""

import io
import random

from pypdf import PdfReader, PdfWriter

URL = "/api/v1/reports/import"
PDF = {"Content-Type": "application/pdf"}


def test_the_pdf_as_the_body_previews_then_imports_then_is_unchanged(client, report_pdfs):
    pdf = report_pdfs["borsetshire"]
    dry = client.post(URL, content=pdf.data, headers=PDF, params={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["outcome"], body["written"], body["slug"]) == ("created", False, "borsetshire-clas-2019")
    assert [(r["ref"], r["page"]) for r in body["preview"]["recommendations"]] == [
        (ref, pdf.layout.pages[f"rec {ref}"]) for ref in ("1.1", "1.2", "2.1")
    ]
    assert client.get("/api/v1/reports", params={"slug": "borsetshire-clas-2019"}).json()["total"] == 0

    created = client.post(URL, content=pdf.data, headers=PDF)
    assert created.status_code == 201, created.text
    assert created.json()["outcome"] == "created" and created.headers["location"].endswith(
        f"/reports/{created.json()['report_id']}"
    )
    again = client.post(URL, files={"file": ("borsetshire.pdf", pdf.data, "application/pdf")})
    assert again.status_code == 200, again.text
    assert (again.json()["outcome"], again.json()["written"]) == ("unchanged", False)


def test_a_pdf_sent_as_text_or_octet_stream_upload_is_read_as_a_pdf(client, seeded, report_pdfs):
    data = report_pdfs["kirklees"].data
    as_text = client.post(URL, content=data, headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 200, as_text.text
    assert as_text.json()["outcome"] == "unchanged" and as_text.json()["warnings"] == []
    upload = client.post(URL, files={"file": ("report.bin", data, "application/octet-stream")})
    assert upload.json()["outcome"] == "unchanged"


def test_unreadable_pdfs_are_problems(client, problem, report_pdfs):
    problem(client.post(URL, content=b"not a pdf at all", headers=PDF), 422, code="not_a_pdf")
    broken = report_pdfs["borsetshire"].data[:3000]
    problem(client.post(URL, content=broken, headers=PDF), 422, code="broken_pdf")
    problem(
        client.post(URL, files={"file": ("x.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")}),
        422,
        code="broken_pdf",
    )


def test_a_pdf_needs_an_admin_key(anonymous, auth, problem, report_pdfs):
    data = report_pdfs["borsetshire"].data
    problem(anonymous.post(URL, content=data, headers=PDF), 401)
    problem(anonymous.post(URL, content=data, headers={**PDF, **auth("viewer")}), 403)


def test_a_pdf_may_be_larger_than_other_bodies_but_text_may_not(client, problem, settings, report_pdfs):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(report_pdfs["borsetshire"].data)))
    writer.add_attachment("photo.bin", random.Random(0).randbytes(settings.max_body_bytes + 10))
    buffer = io.BytesIO()
    writer.write(buffer)
    padded = buffer.getvalue()  # the same report with an attachment larger than other bodies may be
    assert len(padded) > settings.max_body_bytes
    response = client.post(URL, content=padded, headers=PDF, params={"dry_run": "true"})
    assert response.status_code == 200, response.text
    text = b"Review of a report\n" + b"x" * (settings.max_body_bytes + 10)
    problem(client.post(URL, content=text, headers={"Content-Type": "text/plain"}), 413)
    problem(client.post("/api/v1/organisations", content=padded, headers=PDF), 413)
