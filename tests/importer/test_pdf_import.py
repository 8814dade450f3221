"""Importing the published PDF: the same rows as the text and the seed, pages in the preview, clear refusals."""

import io

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlmodel import Session

from app.domain.access import SYSTEM
from app.errors import AppError
from app.importer.bounded_child import ReadLimits
from app.services import documents, importer
from seed.loader import load_seed
from tests.fixtures.report_pdfs import (
    BORSETSHIRE_CITATIONS,
    BORSETSHIRE_GROUPS,
    BORSETSHIRE_ITEMS,
    BORSETSHIRE_TITLE,
)
from tests.importer.test_import_kirklees import LOCALA, _rows, _rows_after

LIMITS = ReadLimits()


def _source(data: bytes, limits: ReadLimits = LIMITS) -> documents.ReportSource:
    return documents.read_report_source(data, limits=limits)


def _import(session: Session, data: bytes | documents.ReportSource, now, **kwargs):
    source = data if isinstance(data, documents.ReportSource) else _source(data)
    return documents.import_source(
        session, source=source, actor=SYSTEM, options=importer.ImportOptions(), now=now, **kwargs
    )


@pytest.fixture(scope="module")
def kirklees(report_pdfs) -> documents.ReportSource:
    """The Kirklees PDF read once (reading it is tested by the first test; the others test importing it)."""
    return _source(report_pdfs["kirklees"].data)


def test_the_kirklees_pdf_gives_the_seeds_rows(connection, clock, report_pdfs):
    data = report_pdfs["kirklees"].data
    imported = _rows_after(connection, lambda session: _import(session, data, clock.now()))
    seeded = _rows_after(connection, lambda session: load_seed(session, now=clock.now()))
    assert imported["report"] == seeded["report"]
    assert imported["report"]["slug"] == "kirklees-clas-2018"
    assert imported["action_plan_organisations"] == seeded["action_plan_organisations"]
    assert len(imported["recommendations"]) == 25
    assert imported["recommendations"] == seeded["recommendations"]  # texts, owners in order, citations
    assert imported["organisations"] == seeded["organisations"]  # codes, names and kinds
    assert imported["organisations"][LOCALA] == ("Locala", "community_interest_company")


def test_the_kirklees_pdf_over_the_seed_changes_nothing_and_gives_pages(
    session, seeded, clock, report_pdfs, kirklees
):
    pdf = report_pdfs["kirklees"]
    before = _rows(session)
    result = _import(session, kirklees, clock.now())
    assert (result.outcome, result.written, result.differences, result.warnings) == (
        "unchanged",
        False,
        [],
        [],
    )
    assert _rows(session) == before
    pages = pdf.layout.pages
    preview = {r.ref: r for r in result.preview.recommendations}
    assert {ref: r.page for ref, r in preview.items()} == {ref: pages[f"rec {ref}"] for ref in preview}
    assert preview["4.8"].page == pages["rec 4.8"] and len({r.page for r in preview.values()}) > 1
    assert [(c.paragraph, c.page) for c in preview["4.8"].citations] == [
        ("5.1.19", pages["cite 5.1.19"]),
        ("5.3.7", pages["cite 5.3.7"]),
    ]
    for recommendation in preview.values():
        for citation in recommendation.citations:
            # the page the citation is written on (a paragraph may start on the page before)
            assert citation.page == pages[f"cite {citation.paragraph}"], (recommendation.ref, citation)
    citing = [c.paragraph for r in preview.values() for c in r.citations]
    assert any(pages[f"cite {p}"] != pages[f"para {p}"] for p in citing)  # the case is met
    assert result.preview.action_plan.page == pdf.layout.page_count


def test_a_pdf_import_is_dry_run_then_applied_only_when_asked(session, seeded, clock, kirklees):
    """A changed PDF shows its differences; nothing is written until apply_changes."""
    from sqlmodel import select

    from app.models import Recommendation

    recommendation = session.exec(select(Recommendation).where(Recommendation.ref == "9.1")).one()
    recommendation.text = "An older wording."
    session.add(recommendation)
    session.commit()
    data = kirklees
    dry = _import(session, data, clock.now(), dry_run=True, apply_changes=True)
    assert (dry.outcome, dry.written) == ("changes_applied", False)
    detected = _import(session, data, clock.now())
    assert detected.outcome == "changes_detected"
    assert [(d.ref, d.change, d.before) for d in detected.differences] == [
        ("9.1", "text_changed", "An older wording.")
    ]
    session.refresh(recommendation)
    assert recommendation.text == "An older wording."
    applied = _import(session, data, clock.now(), apply_changes=True)
    assert (applied.outcome, applied.written) == ("changes_applied", True)
    session.refresh(recommendation)
    assert recommendation.text.startswith("Strengthen the assessment of the emotional health")


def test_another_layout_table_footnote_bare_page_numbers_two_groups_on_a_page(session, clock, report_pdfs):
    pdf = report_pdfs["borsetshire"]
    result = _import(session, pdf.data, clock.now(), dry_run=True)
    preview = result.preview
    assert preview.report.title == BORSETSHIRE_TITLE
    assert (preview.report.review_start_date.isoformat(), preview.report.published_date.isoformat()) == (
        "2019-03-04",
        "2019-05-17",
    )
    assert result.slug == "borsetshire-clas-2019"
    owners = {ref: names for names, refs in BORSETSHIRE_GROUPS for ref in refs}
    assert [(r.ref, r.text) for r in preview.recommendations] == list(BORSETSHIRE_ITEMS.items())
    for recommendation in preview.recommendations:
        assert " and ".join(o.name for o in recommendation.owners) == owners[recommendation.ref]
        assert recommendation.page == pdf.layout.pages[f"rec {recommendation.ref}"]
    assert pdf.layout.pages["group 1"] == pdf.layout.pages["group 2"]  # two owner groups on one page
    cited = {
        (ref, paragraph, section)
        for paragraph, (section, refs) in BORSETSHIRE_CITATIONS.items()
        for ref in refs
    }
    assert {(r.ref, c.paragraph, c.section) for r in preview.recommendations for c in r.citations} == cited
    assert [o.name for o in preview.action_plan.organisations] == ["NHS Borsetshire CCG"]
    assert result.warnings == []
    text = _source(pdf.data).text
    assert "Introduced in 2017" not in text and "tool was introduced" not in text  # the footnote
    assert "Borsetshire CLAS review | Care Quality Commission" not in text  # the running header


# -- refusals -----------------------------------------------------------------------------------------------


def _encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _drawing_only() -> bytes:
    """A 'scan': pages with marks on them and no text layer."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for _ in range(3):
        for row in range(40):
            canvas.rect(72, 780 - row * 18, 400 - (row % 7) * 30, 9, fill=1)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _prose_only() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for row in range(30):
        canvas.drawString(
            72, 780 - row * 16, f"Minutes of the meeting, item {row}: the board noted the report."
        )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_a_pdf_encrypted_only_against_copying_is_read(report_pdfs):
    source = _source(_encrypted(report_pdfs["borsetshire"].data, user_password=""))
    assert source.kind == "pdf" and BORSETSHIRE_ITEMS["1.2"] in source.text.replace("\n", " ")


@pytest.mark.parametrize(
    ("make", "limits", "code", "says"),
    [
        (lambda pdfs: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>\ngarbage", LIMITS, "broken_pdf", "damaged"),
        (lambda pdfs: pdfs["borsetshire"].data[: len(pdfs["borsetshire"].data) // 2], LIMITS, "broken_pdf", "damaged"),
        (lambda pdfs: _encrypted(pdfs["borsetshire"].data, "secret"), LIMITS, "encrypted_pdf", "password"),
        (lambda pdfs: _drawing_only(), LIMITS, "pdf_no_text", "OCR"),
        (lambda pdfs: pdfs["kirklees"].data, ReadLimits(max_pages=10), "pdf_too_many_pages", "at most 10"),
        # the child reading the PDF is stopped when its time is up, whatever it was doing
        (lambda pdfs: pdfs["kirklees"].data, ReadLimits(timeout_seconds=0.01), "pdf_too_complex", "longer than"),
    ],
)  # fmt: skip
def test_unreadable_pdfs_are_clear_422s(report_pdfs, make, limits, code, says):
    with pytest.raises(AppError) as refused:
        _source(make(report_pdfs), limits)
    assert (refused.value.status, refused.value.code) == (422, code)
    assert says in refused.value.detail


def test_declared_pdf_that_is_not_one():
    with pytest.raises(AppError) as refused:
        documents.read_report_source(b"Review of ...", limits=LIMITS, declared="pdf")
    assert (refused.value.status, refused.value.code) == (422, "not_a_pdf")


def test_a_pdf_that_is_not_a_report_says_so_with_the_page(session, clock):
    with pytest.raises(AppError) as refused:
        _import(session, _prose_only(), clock.now())
    assert (refused.value.status, refused.value.code) == (422, "not_a_report")
    assert "PDF" in refused.value.detail and refused.value.extensions["page"] == 1
