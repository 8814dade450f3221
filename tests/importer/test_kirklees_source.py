"""The parser, run on the real Kirklees report, agrees with the structured seed."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import date
from typing import Any

import pytest

from app.importer.matching import KnownOrganisation, match_organisation
from app.importer.parser import ReportPreview, parse_report
from seed import KIRKLEES_SEED, KIRKLEES_SOURCE


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return json.loads(KIRKLEES_SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def preview() -> ReportPreview:
    return parse_report(KIRKLEES_SOURCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def known(seed: dict[str, Any]) -> list[KnownOrganisation]:
    return [KnownOrganisation(None, org["code"], org["name"]) for org in seed["organisations"]]


def _codes(names: list[str], known: list[KnownOrganisation]) -> list[str]:
    codes = []
    for name in names:
        match = match_organisation(name, known)
        assert match.kind == "matched", f"{name!r} -> {match}"
        assert match.organisation is not None
        codes.append(match.organisation.code)
    return codes


def test_report_fields(preview: ReportPreview, seed: dict[str, Any]) -> None:
    report = seed["report"]
    assert preview.title == report["title"]
    assert preview.area == report["area"] == "Kirklees"
    assert preview.review_start_date == date.fromisoformat(report["review_start_date"]) == date(2018, 1, 22)
    assert preview.review_end_date == date.fromisoformat(report["review_end_date"]) == date(2018, 1, 26)
    assert preview.published_date == date.fromisoformat(report["published_date"]) == date(2018, 5, 4)


def test_action_plan_clause(
    preview: ReportPreview, seed: dict[str, Any], known: list[KnownOrganisation]
) -> None:
    assert preview.action_plan is not None
    assert preview.action_plan.working_days == seed["report"]["working_days_allowed"] == 20
    codes = _codes(preview.action_plan.organisations, known)
    assert codes == seed["report"]["action_plan_organisations"] == ["GHCCG", "NKCCG"]


def test_same_recommendations_in_order(preview: ReportPreview, seed: dict[str, Any]) -> None:
    assert [rec.ref for rec in preview.recommendations] == [rec["ref"] for rec in seed["recommendations"]]


def test_texts_are_identical(preview: ReportPreview, seed: dict[str, Any]) -> None:
    for parsed, expected in zip(preview.recommendations, seed["recommendations"], strict=True):
        assert parsed.text == expected["text"], parsed.ref


def test_sections_and_citations(preview: ReportPreview, seed: dict[str, Any]) -> None:
    for parsed, expected in zip(preview.recommendations, seed["recommendations"], strict=True):
        assert parsed.section == expected["section"], parsed.ref
        citations = [{"paragraph": c.paragraph, "section": c.section} for c in parsed.citations]
        assert citations == expected["citations"], parsed.ref


def test_owners_resolve_to_the_seed_codes(
    preview: ReportPreview, seed: dict[str, Any], known: list[KnownOrganisation]
) -> None:
    for parsed, expected in zip(preview.recommendations, seed["recommendations"], strict=True):
        assert _codes(parsed.owners, known) == expected["owners"], parsed.ref


def test_groups(preview: ReportPreview) -> None:
    assert [group.number for group in preview.groups] == list(range(1, 10))
    assert preview.groups[5].owner_names == [
        "South West Yorkshire Partnership NHS Foundation Trust",
        "Calderdale and Huddersfield NHS Foundation Trust",
        "The Mid Yorkshire Hospitals NHS Trust",
    ]


def test_no_warnings_and_no_unknown_citations(preview: ReportPreview) -> None:
    assert preview.warnings == []
    assert preview.citations_of_unknown == []


def test_preview_is_json_ready(preview: ReportPreview) -> None:
    data = json.loads(json.dumps(preview.to_dict()))
    assert data["published_date"] == "2018-05-04"
    assert data["recommendations"][17]["citations"][1]["paragraph"] == "5.3.7"


def test_windows_line_endings_and_bom_give_the_same_preview(preview: ReportPreview) -> None:
    text = KIRKLEES_SOURCE.read_text(encoding="utf-8")
    again = parse_report("\ufeff" + text.replace("\n", "\r\n"))
    assert again.to_dict() == preview.to_dict()


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_lines(item) for key, item in value.items() if key != "line"}
    if isinstance(value, list):
        return [_without_lines(item) for item in value]
    return value


def _hard_wrap(text: str, width: int) -> str:
    wrapped: list[str] = []
    for line in text.split("\n"):
        wrapped.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [line])
    return "\n".join(wrapped)


@pytest.mark.parametrize("width", [120, 80, 60])
def test_hard_wrapped_copy_gives_the_same_preview(preview: ReportPreview, width: int) -> None:
    again = parse_report(_hard_wrap(KIRKLEES_SOURCE.read_text(encoding="utf-8"), width))
    assert _without_lines(again.to_dict()) == _without_lines(preview.to_dict())


@pytest.mark.parametrize("width", [45, 35])
def test_very_narrow_wrapping_keeps_the_recommendations(preview: ReportPreview, width: int) -> None:
    """Too narrow to tell a wrapped title from a subtitle, but the recommendations survive."""
    again = parse_report(_hard_wrap(KIRKLEES_SOURCE.read_text(encoding="utf-8"), width))
    recommendations = _without_lines(again.to_dict()["recommendations"])
    assert recommendations == _without_lines(preview.to_dict()["recommendations"])
    assert again.groups == [] or [g.owner_names for g in again.groups] == [
        g.owner_names for g in preview.groups
    ]


def test_copy_without_blank_lines_gives_the_same_preview(preview: ReportPreview) -> None:
    again = parse_report(re.sub(r"\n\s*\n", "\n", KIRKLEES_SOURCE.read_text(encoding="utf-8")))
    assert _without_lines(again.to_dict()) == _without_lines(preview.to_dict())
