"""The parser's work grows linearly with its input, whatever the input, and its one bound is the size.

Text pasted out of a PDF is full of long runs of spaces, tabs, dots and
digits. Each case below puts such runs into one construct the parser knows,
parses the text at two sizes, and compares the times: linear work takes about
``GROWTH`` times as long for a ``GROWTH`` times longer run, quadratic work
``GROWTH ** 2`` times. The bound between them is generous; no absolute time is
asserted.
"""

import gc
import time
from collections.abc import Callable
from contextlib import suppress

import pytest

from app.importer.limits import MAX_TEXT_CHARACTERS, TextTooLarge, check_text_limits
from app.importer.parser import NotAReport, parse_report, split_organisations
from app.services.import_plan import derive_slug, guess_kind
from seed import KIRKLEES_SOURCE

SIZE = 2_000  # characters (or repetitions) in the smaller run
GROWTH = 8
RATIO_BOUND = 20  # linear: about 8; quadratic: about 64
HEAD = "Review of services in Testshire\n\nDate of publication: 17 May 2019\n\n"
TAIL = "\nRecommendations\n\n1. The Gamma NHS Trust should:\n\n1.1 Do it.\n"


def report(front: str = "", body: str = "", recommendations: str = "", after: str = "") -> str:
    return f"{HEAD}{front}\n\n1. Early help\n\n1.1 {body}\n{TAIL}{recommendations}\n\n{after}\n"


# Each case: a text with a run of about n characters in one construct.
CASES: dict[str, Callable[[int], str]] = {
    "contents entry, spaces after a number": lambda n: report(body="\n1." + " " * n + "\n"),
    "contents entry, spaces then a word": lambda n: report(body="\nTitle" + " " * n + "x\n"),
    "contents entry, tabs": lambda n: report(body="\nTitle" + "\t" * n + "x\n"),
    "contents entry, spaces and tabs": lambda n: report(body="\nTitle" + " \t" * n + "x\n"),
    "dot leaders without a page": lambda n: report(body="\nTitle" + "." * n + "x\n"),
    "spaced dots": lambda n: report(body="\nTitle" + ". " * n + "x\n"),
    "ellipses": lambda n: report(body="\nTitle" + "\u2026" * n + "x\n"),
    "contents block": lambda n: report(front="Contents\n" + "Title" + " " * n + "1\n" + "Title" + "." * n),
    "contents with pages": lambda n: report(front="Contents\n" + "Summary 3\n" * (n // 10)),
    "digits": lambda n: report(body="1" * n),
    "spaced digits": lambda n: report(body="\n" + "1 " * n + "\n"),
    "dotted numbers": lambda n: report(body="\n" + "1." * n + "\n"),
    "numbered paragraphs": lambda n: report(body="".join(f"\n1.{k} Text.\n" for k in range(2, n // 10))),
    "citation of a long ref": lambda n: report(body="Recommendation " + "1." * n),
    "many citations": lambda n: report(body="[Recommendation 1.1](#) " * (n // 10)),
    "markdown brackets": lambda n: report(body="[" * n),
    "markdown link openings": lambda n: report(body="[a](" * (n // 4)),
    "front-matter field, spaces": lambda n: report(front="Date of review:" + " " * n + "x"),
    "front-matter key, spaces": lambda n: report(front="Date of" + " " * n + "review: 1 May 2019"),
    "organisation field, tags": lambda n: report(front="Provider services included: " + "<" * n),
    "organisation field, parentheses": lambda n: report(front="Provider services included: " + "(" * n),
    "organisation field, bullets": lambda n: report(front="Provider services included: " + " \u2022 " * n),
    "organisation field, long list": lambda n: report(
        front="Provider services included: " + ", ".join(f"Org{k} Trust" for k in range(n // 10))
    ),
    "organisation field, continued": lambda n: report(
        front="Provider services included:\n" + "Org Trust\n" * (n // 10)
    ),
    "dates": lambda n: report(front="Date of review: " + "1 to " * (n // 5) + "2 May 2019"),
    "owner group, spaces": lambda n: report(recommendations="2. " + " " * n + "should:\n2.1 Do it."),
    "owner group, long list": lambda n: report(
        recommendations="2. " + ", ".join(f"Org{k} Trust" for k in range(n // 10)) + " should:\n2.1 Do it."
    ),
    "owner group, and-list": lambda n: report(
        recommendations="2. " + " and ".join("Org" for _ in range(n // 5)) + " should:\n2.1 Do it."
    ),
    "owner group, wrapped": lambda n: report(recommendations="2. Org,\n" * (n // 8) + "x should:\n2.1 Do it."),
    "many owner groups": lambda n: report(
        recommendations="".join(f"{k}. Org{k} Trust should:\n{k}.1 Do it.\n" for k in range(2, n // 20))
    ),
    "many items": lambda n: report(recommendations="".join(f"1.{k} Do it.\n" for k in range(2, n // 10))),
    "repeated items": lambda n: report(recommendations="1.1 Do it.\n" * (n // 10)),
    "item continued": lambda n: report(recommendations="wrapped text " * (n // 10)),
    "action plan, repeated": lambda n: report(after="action plan required from " * (n // 20)),
    "action plan, no end": lambda n: report(
        after="An action plan is required within 20 working days from " + "Org " * (n // 4)
    ),
    "action plan, spaces": lambda n: report(after="An action plan is required from" + " " * n + "x"),
    "recommendations headings": lambda n: report(front="Recommendations\n\n" * (n // 20)),
}


def _parse_seconds(text: str) -> float:
    """The least CPU time of a few parses of ``text`` (the least is the one least disturbed)."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(5):
            started = time.thread_time()
            with suppress(NotAReport):
                parse_report(text)
            best = min(best, time.thread_time() - started)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("make_text", CASES.values(), ids=CASES.keys())
def test_parsing_time_grows_linearly_with_the_run(make_text):
    small, large = make_text(SIZE), make_text(SIZE * GROWTH)
    assert len(large) > len(small) * GROWTH / 2  # the run, not the report around it, dominates
    ratio = _parse_seconds(large) / max(_parse_seconds(small), 1e-6)
    assert ratio < RATIO_BOUND, f"{GROWTH}x the input took {ratio:.1f}x the time"


def test_splitting_an_owner_list_grows_linearly_with_its_length():
    def seconds(count: int) -> float:
        phrase = ", ".join(f"Org{k} Alpha" for k in range(count))  # no name ends like an organisation
        started = time.thread_time()
        pieces, certain = split_organisations(phrase, ())
        assert pieces and not certain
        return time.thread_time() - started

    ratio = min(seconds(4_000) for _ in range(3)) / min(seconds(500) for _ in range(3))
    assert ratio < RATIO_BOUND


def test_a_long_owner_list_is_split_whole():
    names = [f"Org{k} Trust" for k in range(200)]
    assert split_organisations(", ".join(names[:-1]) + " and " + names[-1], ()) == (names, True)


def test_a_text_longer_than_the_bound_is_refused_with_the_line():
    text = "Review\n" + "x" * MAX_TEXT_CHARACTERS
    with pytest.raises(TextTooLarge) as refused:
        check_text_limits(text)
    assert refused.value.line == 2


def test_a_text_within_the_bound_is_accepted():
    check_text_limits("x" * MAX_TEXT_CHARACTERS)


def test_the_real_report_is_well_inside_the_limits():
    check_text_limits(KIRKLEES_SOURCE.read_text(encoding="utf-8"))


def _least_seconds(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        work()
        best = min(best, time.thread_time() - started)
    return best


PLAN_CASES: dict[str, Callable[[int], Callable[[], object]]] = {
    "kind of a name of parentheses": lambda n: lambda: guess_kind("(" * n),
    "kind of a name of spaces": lambda n: lambda: guess_kind("A" + " " * n + "(x)"),
    "slug of a title repeating 'looked after'": lambda n: lambda: derive_slug(
        title="looked after " * (n // 12), area=None, regulator="Care Quality Commission", year=2018
    ),
    "slug of a title repeating 'safeguarding'": lambda n: lambda: derive_slug(
        title="safeguarding " * (n // 12), area=None, regulator="Care Quality Commission", year=2018
    ),
}


@pytest.mark.parametrize("make_work", PLAN_CASES.values(), ids=PLAN_CASES.keys())
def test_the_import_plans_guesses_grow_linearly(make_work):
    ratio = _least_seconds(make_work(SIZE * GROWTH * 4)) / max(_least_seconds(make_work(SIZE * 4)), 1e-6)
    assert ratio < RATIO_BOUND, f"{GROWTH}x the input took {ratio:.1f}x the time"
