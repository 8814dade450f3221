"""Importing a Word document: Word's list numbering read as printed, the same rows as the text, clear refusals."""

import io
import zipfile

import pytest
from sqlmodel import Session

from app.domain.access import SYSTEM
from app.errors import AppError
from app.importer.bounded_child import ReadLimits
from app.importer.docx_text import MAX_ENTRIES, MAX_EXPANDED_BYTES, Level, ListNumbering, format_number
from app.services import documents, importer
from seed.loader import load_seed
from tests.fixtures.report_docx import borsetshire_docx, kirklees_docx
from tests.fixtures.report_pdfs import BORSETSHIRE_GROUPS, BORSETSHIRE_ITEMS, BORSETSHIRE_TITLE
from tests.importer.test_import_kirklees import LOCALA, _rows_after

LIMITS = ReadLimits()


@pytest.fixture(scope="module")
def kirklees() -> bytes:
    return kirklees_docx()


def _import(session: Session, data: bytes, now, **kwargs):
    source = documents.read_report_source(data, limits=LIMITS)
    assert source.kind == "docx"
    return documents.import_source(
        session, source=source, actor=SYSTEM, options=importer.ImportOptions(), now=now, **kwargs
    )


def test_the_kirklees_docx_gives_the_seeds_rows(connection, clock, kirklees):
    imported = _rows_after(connection, lambda session: _import(session, kirklees, clock.now()))
    seeded = _rows_after(connection, lambda session: load_seed(session, now=clock.now()))
    assert imported["report"] == seeded["report"]
    assert imported["action_plan_organisations"] == seeded["action_plan_organisations"]
    assert len(imported["recommendations"]) == 25
    assert (
        imported["recommendations"] == seeded["recommendations"]
    )  # refs from Word's numbering, texts, owners
    assert imported["organisations"] == seeded["organisations"]
    assert imported["organisations"][LOCALA] == ("Locala", "community_interest_company")


def test_the_numbers_are_word_s_not_the_paragraphs_text(kirklees):
    """The fixture leaves the refs to Word's numbering: without it no recommendation has a ref."""
    import docx

    paragraphs = [p.text for p in docx.Document(io.BytesIO(kirklees)).paragraphs]
    assert any(p.startswith("Ensure that information within the integrated care pathway") for p in paragraphs)
    assert not any(p.startswith("1.1 Ensure that information") for p in paragraphs)
    text = documents.read_report_source(kirklees, limits=LIMITS).text
    assert "\n1. The Mid Yorkshire Hospitals NHS Trust should:\n1.1 Ensure that information" in text
    assert "\n9.1 Strengthen the assessment" in text
    assert "\n\u2022 Calderdale and Huddersfield NHS Foundation Trust (CHFT)\n" in text  # bullets as bullets


def test_another_report_with_a_table_and_two_owner_groups(session, clock):
    result = _import(session, borsetshire_docx(), clock.now(), dry_run=True)
    preview = result.preview
    assert preview.report.title == BORSETSHIRE_TITLE
    owners = {ref: names for names, refs in BORSETSHIRE_GROUPS for ref in refs}
    assert [(r.ref, r.text) for r in preview.recommendations] == list(BORSETSHIRE_ITEMS.items())
    for recommendation in preview.recommendations:
        assert " and ".join(o.name for o in recommendation.owners) == owners[recommendation.ref]
    assert [o.name for o in preview.action_plan.organisations] == ["NHS Borsetshire CCG"]


# -- Word's list numbering (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "number_format", "shown"),
    [
        (1, "decimal", "1"), (12, "decimal", "12"), (3, "decimalZero", "03"),
        (1, "lowerLetter", "a"), (26, "lowerLetter", "z"), (27, "lowerLetter", "aa"), (28, "upperLetter", "BB"),
        (4, "lowerRoman", "iv"), (9, "upperRoman", "IX"), (1994, "lowerRoman", "mcmxciv"),
        (5, "none", ""), (5, "bullet", ""), (7, "ordinalText", "7"),  # formats we do not spell: digits
    ],
)  # fmt: skip
def test_number_formats(n, number_format, shown):
    assert format_number(n, number_format) == shown


def _numbering(**lists) -> ListNumbering:
    definitions = {
        "multi": {0: Level("decimal", "%1."), 1: Level("decimal", "%1.%2"), 2: Level("lowerLetter", "(%3)")},
        "roman": {0: Level("upperRoman", "%1)", start=3)},
        "bullets": {0: Level("bullet", "\u2022")},
    }
    return ListNumbering(definitions, lists or {"1": ("multi", {})})


@pytest.mark.parametrize(
    ("lists", "paragraphs", "shown"),
    [
        # levels count on, a paragraph restarts the levels below it
        ({}, [("1", 0), ("1", 1), ("1", 1), ("1", 0), ("1", 1)], ["1.", "1.1", "1.2", "2.", "2.1"]),
        ({}, [("1", 0), ("1", 1), ("1", 2), ("1", 2), ("1", 1), ("1", 2)], ["1.", "1.1", "(a)", "(b)", "1.2", "(a)"]),
        # a deeper level before any shallower one shows the shallower one's start
        ({}, [("1", 1), ("1", 1)], ["1.1", "1.2"]),
        # lists sharing a definition continue one count; a start override restarts it once
        ({"1": ("multi", {}), "2": ("multi", {})}, [("1", 0), ("2", 0), ("1", 0)], ["1.", "2.", "3."]),
        ({"1": ("multi", {}), "2": ("multi", {0: 1})}, [("1", 0), ("1", 0), ("2", 0), ("2", 0)], ["1.", "2.", "1.", "2."]),
        ({"1": ("multi", {0: 5})}, [("1", 0), ("1", 1)], ["5.", "5.1"]),
        # start values and formats; bullets show their symbol
        ({"r": ("roman", {})}, [("r", 0), ("r", 0)], ["III)", "IV)"]),
        ({"b": ("bullets", {})}, [("b", 0), ("b", 0)], ["\u2022", "\u2022"]),
        # what Word would not number: an unknown list, a level out of range
        ({}, [("9", 0), ("1", 9), ("1", -1), ("1", 0)], ["", "", "", "1."]),
    ],
)  # fmt: skip
def test_list_numbers_as_word_shows_them(lists, paragraphs, shown):
    numbering = _numbering(**lists)
    assert [numbering.number(num_id, level) for num_id, level in paragraphs] == shown


# -- refusals -----------------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _expanding() -> bytes:
    """A small archive whose document expands past the bound (zeros compress a thousandfold)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(MAX_EXPANDED_BYTES // len(chunk) + 1):
                member.write(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "code", "says"),
    [
        (lambda kirklees: _zip({"word/document.xml": b"<not xml"}), "broken_docx", "damaged"),
        (lambda kirklees: kirklees[: len(kirklees) // 2] + kirklees[-200:], "broken_docx", "damaged"),
        (lambda kirklees: _zip({"word/document.xml": b"x", **{f"p/{i}": b"" for i in range(MAX_ENTRIES)}}), "docx_too_complex", "parts"),
        (lambda kirklees: _expanding(), "docx_too_complex", "MB"),
    ],
)  # fmt: skip
def test_unreadable_word_documents_are_clear_422s(kirklees, make, code, says):
    with pytest.raises(AppError) as refused:
        documents.read_report_source(make(kirklees), limits=LIMITS, declared="docx")
    assert (refused.value.status, refused.value.code) == (422, code)
    assert says in refused.value.detail


def test_a_word_document_whose_reading_runs_out_of_time(kirklees):
    with pytest.raises(AppError) as refused:
        documents.read_report_source(kirklees, limits=ReadLimits(timeout_seconds=0.01))
    assert (refused.value.status, refused.value.code) == (422, "docx_too_complex")


def test_declared_word_document_that_is_not_one():
    with pytest.raises(AppError) as refused:
        documents.read_report_source(b"Review of ...", limits=LIMITS, declared="docx")
    assert (refused.value.status, refused.value.code) == (422, "not_a_docx")


def test_a_zip_that_is_not_a_word_document_is_read_as_text_and_refused():
    with pytest.raises(AppError) as refused:
        documents.read_report_source(_zip({"xl/workbook.xml": b"<workbook/>"}), limits=LIMITS)
    assert refused.value.status == 422 and refused.value.code in {"not_utf8", "not_plain_text"}
