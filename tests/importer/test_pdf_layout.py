"""The PDF layout cleaner: tables of pages in, text and page map out. No PDF, no database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.importer.pdf_layout import clean_pages

HEADER = "Review of health services in Testshire"


def page(number: int, *body: str, total: int = 3, header: str = HEADER) -> str:
    """A page as extracted: the running header (not on the cover), the body, a "Page N of M" footer."""
    top = [header, ""] if number > 1 else []
    return "\n".join([*top, *body, "", f"               Page {number} of {total}"])


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        # running header and "Page N of M" footer on every page go; the body stays
        (
            [page(1, "Cover", "", "1.1 One."), page(2, "1.2 Two."), page(3, "1.3 Three.")],
            "Cover\n\n1.1 One.\n\n1.2 Two.\n\n1.3 Three.",
        ),
        # so do headers on the first page, its first line aside (a cover repeats the title)
        (
            [f"{HEADER}\n\nTitle\n1.1 One.\n\nPage 1 of 3", page(2, "1.2 Two."), page(3, "1.3 Three.")],
            f"{HEADER}\n\nTitle\n1.1 One.\n\n1.2 Two.\n\n1.3 Three.",
        ),
        # bare page numbers, and "- N -", at the foot go even when nothing else repeats
        (["Alpha.\n\n1", "Beta.\n\n- 2 -", "Gamma.\n\n3/3"], "Alpha.\n\nBeta.\n\nGamma."),
        # a header with the page number in it counts as the same line on every page
        (
            ["Alpha.\n\nTestshire review | 1", "Beta.\n\nTestshire review | 2", "Gamma.\n\nTestshire review | 3"],
            "Alpha.\n\nBeta.\n\nGamma.",
        ),
        # the cover's first line is kept though later pages repeat it as their header
        (
            [f"{HEADER}\n\nDate of review: 1 May 2019.", f"{HEADER}\n\nAlpha.", f"{HEADER}\n\nBeta."],
            f"{HEADER}\n\nDate of review: 1 May 2019.\n\nAlpha.\n\nBeta.",
        ),
        # a line that repeats in the body (not in the top or bottom three lines) stays
        (
            ["A\nB\nC\nAgreed.\nD\nE\nF.", "G\nH\nI\nAgreed.\nJ\nK\nL."],
            "A\nB\nC\nAgreed.\nD\nE\nF.\n\nG\nH\nI\nAgreed.\nJ\nK\nL.",
        ),
        # a paragraph that ends a page without a full stop runs on, whatever comes next
        (["Date of review: 1 May 2019", "Contents"], "Date of review: 1 May 2019\nContents"),
        # a paragraph broken by the page break runs on: mid-sentence, or the next page in lower case
        ([page(1, "1.1 The service is not"), page(2, "always safe."), page(3, "End.")],
         "1.1 The service is not\nalways safe.\n\nEnd."),
        ([page(1, "1.1 The service is safe."), page(2, "and it is kind."), page(3, "End.")],
         "1.1 The service is safe.\nand it is kind.\n\nEnd."),
        # a finished sentence before a capital is a paragraph break
        ([page(1, "1.1 Done."), page(2, "Next steps."), page(3, "End.")], "1.1 Done.\n\nNext steps.\n\nEnd."),
        # footnotes at the foot of a page go
        (["1.1 Tools are used.\u00b9\n\n\u00b9 Introduced in 2017.\n\n1", "1.2 More.\n\n2"],
         "1.1 Tools are used.\u00b9\n\n1.2 More."),
    ],
)  # fmt: skip
def test_layout_is_taken_out(pages, expected):
    assert clean_pages(pages).text == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("the identi\ufb01cation of \ufb02ags and e\ufb00ects", "the identification of flags and effects"),
        ("Recommendation\u00a04.8 and\u202fmore\u2009here", "Recommendation 4.8 and more here"),
        ("zero\u200bwidth\u200c and\u2060 byte\ufeff order", "zerowidth and byte order"),
        ("soft\u00adhyphen", "softhyphen"),
        ("cited. Recommendation 4. 8.", "cited. Recommendation 4.8."),
        ("Recommendations 4 .8", "Recommendations 4.8"),
        ("Title ......................            3", "Title ......................  3"),
        ("  indented   bullet  ", "indented  bullet"),
    ],
)
def test_characters_and_spacing(line, expected):
    assert clean_pages([line]).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a word broken by the typesetter is joined, its hyphen dropped
        ("the new arrange-\nments are clear.", "the new arrangements\nare clear."),
        # ... unless the document writes the word with its hyphen elsewhere
        ("looked-after children.\nFor looked-\nafter children.", "looked-after children.\nFor looked-after\nchildren."),
        # ... and the other way round
        ("co-\nordinated. It is coordinated.", "coordinated.\nIt is coordinated."),
        # punctuation after the second part moves up with it; a line left empty goes
        ("assess-\nment.\nNext line", "assessment.\nNext line"),
        # not a hyphenation: a capital, a number or a dash after the break
        ("North-\nEast", "North-\nEast"),
        ("aged 0-\n19 years", "aged 0-\n19 years"),
        ("pages 10 -\n12 to 14", "pages 10 -\n12 to 14"),
        # across a page break too
        (None, None),
    ],
)  # fmt: skip
def test_words_hyphenated_at_line_ends(text, expected):
    if text is None:
        pages = [page(1, "the new arrange-"), page(2, "ments are clear."), page(3, "End.")]
        assert clean_pages(pages).text == "the new arrangements\nare clear.\n\nEnd."
        return
    assert clean_pages([text]).text == expected


def test_each_line_keeps_its_page():
    pages = [
        page(1, "Cover line."),
        page(2, "4.8 Lead the work of health", "providers so that the new arrange-"),
        page(3, "ments are understood.", "", "5.1 Develop plans."),
    ]
    clean = clean_pages(pages)
    lines = clean.text.split("\n")
    assert lines == [
        "Cover line.",
        "",
        "4.8 Lead the work of health",
        "providers so that the new arrangements",
        "are understood.",
        "",
        "5.1 Develop plans.",
    ]
    assert [clean.page_of(number) for number in range(1, len(lines) + 1)] == [1, 1, 2, 2, 3, 3, 3]
    assert clean.page_of(0) is None and clean.page_of(len(lines) + 1) is None and clean.page_of(None) is None


def test_line_numbers_agree_with_the_parsers_count():
    """Every character str.splitlines() breaks at becomes a plain newline, so line N is line N for both."""
    clean = clean_pages(["a\x0bb\x0cc\x1cd\u2028e\u2029f\r\ng\x85h"])
    assert clean.text.splitlines() == clean.text.split("\n") == list("abcdefgh")
    assert len(clean.line_pages) == len(clean.text.split("\n"))


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), max_size=6))
def test_any_pages_give_one_page_per_line(pages):
    clean = clean_pages(pages)
    assert len(clean.line_pages) == len(clean.text.split("\n")) or clean.text == ""
    assert list(clean.line_pages) == sorted(clean.line_pages)
    assert all(1 <= number <= len(pages) for number in clean.line_pages)
    assert "\ufb01" not in clean.text and "\u00a0" not in clean.text and "\u200b" not in clean.text
