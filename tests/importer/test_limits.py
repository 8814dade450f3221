"""Texts that would make the parser work for minutes are refused before it runs, with the line."""

import time

import pytest

from app.importer.limits import TextTooComplex, check_text_limits
from app.importer.parser import parse_report
from seed import KIRKLEES_SOURCE

HEAD = "Review\n\nDate of publication: 17 May 2019\n\nRecommendations\n\n"


def orgs(count: int, separator: str = ", ") -> str:
    return separator.join(f"Org{i} Trust" for i in range(count))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"{HEAD}1. {orgs(60)} should:\n1.1 Do it.\n", 7),
        (HEAD + "1. " + ",\n".join(orgs(12) for _ in range(6)) + " should:\n1.1 Do it.\n", 12),  # wrapped
        (f"Review\nProvider services included: {orgs(60, ',' + chr(10))}\n\n{HEAD}1. A Trust should:\n", 2),
        (
            f"{HEAD}1. A Trust should:\n1.1 Do it.\n\nAn action plan is required from {orgs(60)}, within 20 working days.\n",
            10,
        ),
        (f"{HEAD}{''.join(f'{n}. {orgs(15)} should:{chr(10)}' for n in range(1, 80))}", 81),
        (f"{HEAD}1. A Trust should:\n" + "1.1 Do it.\n" * 5001, 5008),
    ],
    ids=[
        "long owner group",
        "wrapped owner group",
        "front matter list",
        "action-plan clause",
        "many lists",
        "many items",
    ],
)
def test_texts_beyond_the_limits_are_refused_with_the_line(text, line):
    with pytest.raises(TextTooComplex) as refused:
        check_text_limits(text)
    assert refused.value.line == line


def test_within_the_limits_the_parser_stays_quick():
    text = f"{HEAD}{''.join(f'{n}. {orgs(12)} should:{chr(10)}{n}.1 Do it.{chr(10)}' for n in range(1, 120))}"
    check_text_limits(text)
    started = time.perf_counter()
    assert len(parse_report(text).recommendations) == 119
    assert time.perf_counter() - started < 5


def test_the_real_report_is_well_inside_the_limits():
    check_text_limits(KIRKLEES_SOURCE.read_text(encoding="utf-8"))
