"""The report parser, on small synthetic reports written in the CLAS report format."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.importer.parser import (
    Citation,
    NotAReport,
    ReportPreview,
    UnknownCitation,
    parse_report,
    split_organisations,
)

BASE = """\
Review of health services for Children Looked-after and Safeguarding in Testshire

Date of review:\t4 March 2019 to 8 March 2019
Date of publication:\t17 May 2019
Provider services included:\t<ul style="list-style-type: none"> \u2022 Alpha and Beta NHS Foundation Trust (ABFT) \u2022 Change, Grow, Live \u2022 The Gamma Hospitals NHS Trust (GHT)
CCGs included:\t<ul style="list-style-type: none"> \u2022 NHS Delta CCG \u2022 NHS Epsilon CCG
NHS England area:\tNHS England North Region

Contents

Contents.....\t2
Summary of the review\t3
1. Early help.....\t4
2. Management\t6
2.1 Governance\t6
2.2 Training and supervision\t7
Recommendations\t9
Next steps\t10

Summary of the review

This review looked at health services in Testshire. Recommendations for improvement are made at the end of the report.

1. Early help

1.1 Midwives at the hospital record risks well but the records are not always legible. [Recommendation 1.1](#).

1.2 Health visitors offer good support although the handover of care is slow. This means some needs are missed.

[Recommendation 2.1.](#)

2. Management

This section records our findings about how well-led the health services are.

2.1 Governance

2.1.1 The commissioners have good oversight of providers although the strategy is not agreed. [Recommendation 3.1](#).

2.2 Training and supervision

2.2.1 Training rates are good but staff are unsure of the new front door. [**Recommendation 1.2.**](#)

Recommendations

1. The Gamma Hospitals NHS Trust should:

1.1 Ensure that records in the maternity service are legible.
1.2 Make sure staff understand the new front door arrangements.

2. Alpha and Beta NHS Foundation Trust and Change, Grow, Live should:

2.1 Speed up the handover of care to health visitors.

3. NHS Delta CCG, NHS Epsilon CCG and The Gamma Hospitals NHS Trust should:

3.1 Agree a prevention strategy with partners.

Next steps

An action plan addressing the recommendations above is required from NHS Delta CCG and NHS Epsilon CCG, within 20 working days of receipt of this report.
"""

GAMMA = "The Gamma Hospitals NHS Trust"
ALPHA = "Alpha and Beta NHS Foundation Trust"
CGL = "Change, Grow, Live"
DELTA, EPSILON = "NHS Delta CCG", "NHS Epsilon CCG"

EXPECTED_RECOMMENDATIONS = [
    (
        "1.1",
        "Ensure that records in the maternity service are legible.",
        [GAMMA],
        "Early help",
        [("1.1", "Early help")],
    ),
    (
        "1.2",
        "Make sure staff understand the new front door arrangements.",
        [GAMMA],
        "Training and supervision",
        [("2.2.1", "Training and supervision")],
    ),
    (
        "2.1",
        "Speed up the handover of care to health visitors.",
        [ALPHA, CGL],
        "Early help",
        [("1.2", "Early help")],
    ),
    (
        "3.1",
        "Agree a prevention strategy with partners.",
        [DELTA, EPSILON, GAMMA],
        "Governance",
        [("2.1.1", "Governance")],
    ),
]


def summary(preview: ReportPreview) -> dict[str, Any]:
    """What a report says, without line numbers (which artefacts may shift)."""
    return {
        "title": preview.title,
        "area": preview.area,
        "dates": (preview.review_start_date, preview.review_end_date, preview.published_date),
        "action_plan": preview.action_plan
        and (preview.action_plan.working_days, preview.action_plan.organisations),
        "groups": [(group.number, group.owner_names) for group in preview.groups],
        "recommendations": [
            (rec.ref, rec.text, rec.owners, rec.section, [(c.paragraph, c.section) for c in rec.citations])
            for rec in preview.recommendations
        ],
        "unknown": [(c.ref, c.paragraph) for c in preview.citations_of_unknown],
        "warnings": [warning.code for warning in preview.warnings],
    }


BASE_SUMMARY = {
    "title": "Review of health services for Children Looked-after and Safeguarding in Testshire",
    "area": "Testshire",
    "dates": (date(2019, 3, 4), date(2019, 3, 8), date(2019, 5, 17)),
    "action_plan": (20, [DELTA, EPSILON]),
    "groups": [(1, [GAMMA]), (2, [ALPHA, CGL]), (3, [DELTA, EPSILON, GAMMA])],
    "recommendations": [list(rec) for rec in EXPECTED_RECOMMENDATIONS],
    "unknown": [],
    "warnings": [],
}


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


def codes(preview: ReportPreview) -> set[str]:
    return {warning.code for warning in preview.warnings}


def line_of(text: str, prefix: str) -> int:
    """The 1-based number of the first line of ``text`` that starts with ``prefix``."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if line.startswith(prefix))


def replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


# -- the base report -----------------------------------------------------------------------------------


def test_base_report() -> None:
    preview = parse_report(BASE)
    assert _normalised(summary(preview)) == _normalised(BASE_SUMMARY)


def test_lines_are_reported() -> None:
    preview = parse_report(BASE)
    lines = BASE.splitlines()
    assert lines[preview.groups[1].line - 1].startswith("2. Alpha")
    assert lines[preview.recommendations[1].line - 1].startswith("1.2 Make")
    standalone = preview.recommendations[2].citations[0]
    assert lines[standalone.line - 1] == "[Recommendation 2.1.](#)"
    assert preview.action_plan is not None
    assert lines[preview.action_plan.line - 1].startswith("An action plan")


def test_to_dict_is_json_ready() -> None:
    data = parse_report(BASE).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["review_start_date"] == "2019-03-04"
    assert data["published_date"] == "2019-05-17"
    assert data["recommendations"][0]["citations"][0] == {
        "paragraph": "1.1",
        "section": "Early help",
        "line": line_of(BASE, "1.1 Midwives"),
    }
    assert data["action_plan"]["organisations"] == [DELTA, EPSILON]


# -- artefacts: each must leave the parsed report unchanged ------------------------------------------


def _wrap_lines(text: str) -> str:
    """Hard-wrap an item, a group heading, a body paragraph and the action-plan clause."""
    text = replace(
        text, "1.1 Ensure that records in the maternity", "1.1 Ensure that records in the\nmaternity"
    )
    text = replace(text, "3. NHS Delta CCG, NHS Epsilon CCG and", "3. NHS Delta CCG, NHS Epsilon CCG\nand")
    text = replace(text, "not always legible. [Recommendation", "not always legible.\n[Recommendation")
    return replace(text, "NHS Epsilon CCG, within", "NHS Epsilon CCG,\nwithin")


def _contents_spaced_out(text: str) -> str:
    """Contents as a PDF extraction gives it: entries separated by blank lines."""
    start, end = text.index("Contents.....\t2"), text.index("Next steps\t10")
    block = text[start:end].replace("\n", "\n\n")
    return text[:start] + block + text[end:]


ARTEFACTS: dict[str, Callable[[str], str]] = {
    "windows line endings": lambda t: t.replace("\n", "\r\n"),
    "old mac line endings": lambda t: t.replace("\n", "\r"),
    "byte order mark": lambda t: "\ufeff" + t,
    "bom and crlf": lambda t: "\ufeff" + t.replace("\n", "\r\n"),
    "trailing whitespace": lambda t: t.replace("\n", "  \n"),
    "tabs and doubled spaces": lambda t: replace(
        replace(t, "1.1 Ensure that records", "1.1\tEnsure  that   records"),
        "3. NHS Delta CCG, NHS Epsilon CCG and",
        "3.  NHS  Delta CCG,  NHS Epsilon CCG\tand",
    ),
    "non-breaking spaces": lambda t: replace(
        t, "2.1 Speed up the handover", "2.1\u00a0Speed\u00a0up the handover"
    ),
    "stray bold on group headings": lambda t: replace(
        replace(t, "2. Alpha and Beta", "- 2. Alpha and Beta"),
        "Change, Grow, Live should:\n",
        "Change, Grow, Live should:**\n",
    ),
    "bold group heading and item numbers": lambda t: replace(
        replace(
            t, "1. The Gamma Hospitals NHS Trust should:", "**1. The Gamma Hospitals NHS Trust should:**"
        ),
        "3.1 Agree",
        "**3.1** Agree",
    ),
    "bullets with odd indentation": lambda t: replace(
        replace(replace(t, "1.1 Ensure", "- 1.1 Ensure"), "1.2 Make", " - 1.2 Make"),
        "3.1 Agree",
        "\t-   3.1 Agree",
    ),
    "other bullet characters": lambda t: replace(
        replace(t, "1.1 Ensure", "\u2022 1.1 Ensure"), "2.1 Speed", "* 2.1 Speed"
    ),
    "markdown headings": lambda t: replace(
        replace(t, "\nRecommendations\n\n1.", "\n## Recommendations\n\n1."),
        "\n1. Early help\n\n1.1",
        "\n# 1. Early help\n\n1.1",
    ),
    "bold headings": lambda t: replace(
        replace(t, "\nRecommendations\n\n1.", "\n**Recommendations**\n\n1."),
        "\n2.1 Governance\n",
        "\n**2.1 Governance**\n",
    ),
    "citation without link or dot": lambda t: replace(t, "[Recommendation 1.1](#).", "Recommendation 1.1"),
    "citation with dot inside bold link": lambda t: replace(
        t, "[Recommendation 3.1](#).", "[**Recommendation 3.1.**](#)"
    ),
    "citation in lower case and brackets": lambda t: replace(
        t, "[Recommendation 3.1](#).", "(see recommendation 3.1)."
    ),
    "citation on its own line": lambda t: replace(
        t, "legible. [Recommendation 1.1](#).", "legible.\n\n[Recommendation 1.1](#)."
    ),
    "citation as a bullet": lambda t: replace(t, "[Recommendation 2.1.](#)", "- [Recommendation 2.1.](#)"),
    "curly quotes in the body": lambda t: replace(
        replace(t, "the new front door.", "the new \u2018front door\u2019."),
        "This section records",
        "\u201cThis section\u201d records",
    ),
    "contents without page-number tabs": lambda t: t.replace("\t2\n", " 2\n").replace(
        ".....\t4", "........ 4"
    ),
    "contents with blank lines between entries": _contents_spaced_out,
    "no contents": lambda t: t[: t.index("Contents\n")] + t[t.index("Summary of the review\n\nThis") :],
    "contents entries without the contents title": lambda t: replace(t, "Contents\n\n", "\n\n"),
    "hard-wrapped lines": _wrap_lines,
    "citation link wrapped over two lines": lambda t: replace(
        t, "[Recommendation 3.1](#).", "[Recommendation\n3.1](#)."
    ),
    "group heading wrapped straight after an item": lambda t: replace(
        t,
        "legible.\n1.2 Make sure staff understand the new front door arrangements.\n\n2. Alpha and Beta NHS",
        "legible.\n1.2 Make sure staff understand the new front door arrangements.\n2. Alpha and Beta\nNHS",
    ),
    "contents run straight into the text": lambda t: replace(
        t, "Next steps\t10\n\nSummary of the review\n\n", "Next steps\t10\n"
    ),
    "no blank lines at all": lambda t: re.sub(r"\n\s*\n", "\n", t),
    "bold working days": lambda t: replace(t, "within 20 working days", "within **20 working days**"),
    "review dates as a short range": lambda t: replace(
        t, "4 March 2019 to 8 March 2019", "4 to 8 March 2019"
    ),
    "review dates as ISO": lambda t: replace(t, "4 March 2019 to 8 March 2019", "2019-03-04 to 2019-03-08"),
    "organisation list as bullet lines": lambda t: replace(
        t,
        'CCGs included:\t<ul style="list-style-type: none"> \u2022 NHS Delta CCG \u2022 NHS Epsilon CCG',
        "CCGs included:\n- NHS Delta CCG\n- NHS Epsilon CCG",
    ),
}


@pytest.mark.parametrize("artefact", list(ARTEFACTS), ids=list(ARTEFACTS))
def test_artefacts_do_not_change_the_result(artefact: str) -> None:
    text = ARTEFACTS[artefact](BASE)
    assert _normalised(summary(parse_report(text))) == _normalised(BASE_SUMMARY)


def test_contents_lines_are_not_headings_or_paragraphs() -> None:
    """A contents entry for a section the body does not have must not leak into any section."""
    text = replace(
        BASE, "2.2 Training and supervision\t7", "2.2 Training and supervision\t7\n2.3 Imaginary....\t8"
    )
    text = replace(text, "\n2.2 Training and supervision\n", "\n")
    preview = parse_report(text)
    # Without its own heading, 2.2.1 falls under the contents' 2.2, never under the "2.3" entry.
    assert preview.recommendations[1].section == "Training and supervision"
    assert all(c.paragraph != "2.3" for rec in preview.recommendations for c in rec.citations)


def test_recommendations_in_the_contents_is_not_the_section() -> None:
    text = replace(BASE, "Recommendations\t9", "Recommendations")
    assert _normalised(summary(parse_report(text))) == _normalised(BASE_SUMMARY)


def test_curly_quotes_in_recommendation_text_are_kept_verbatim() -> None:
    text = replace(
        BASE,
        "3.1 Agree a prevention strategy",
        "3.1 Agree the \u2018Thriving\u2019 children\u2019s prevention strategy",
    )
    rec = parse_report(text).recommendations[3]
    assert rec.text == "Agree the \u2018Thriving\u2019 children\u2019s prevention strategy with partners."


def test_markdown_link_in_recommendation_text_keeps_its_words() -> None:
    text = replace(
        BASE, "3.1 Agree a prevention strategy", "3.1 Agree a [prevention strategy](https://example.org)"
    )
    assert parse_report(text).recommendations[3].text == "Agree a prevention strategy with partners."


def test_management_heading_with_subsections() -> None:
    """ "2. Management" then "2.1 Governance": paragraphs 2.1.x belong to Governance, 2.x to Management."""
    text = replace(
        BASE,
        "This section records our findings about how well-led the health services are.",
        "2.0 This paragraph sits under the Management heading itself. [Recommendation 3.1](#).",
    )
    rec = parse_report(text).recommendations[3]
    assert [(c.paragraph, c.section) for c in rec.citations] == [
        ("2.0", "Management"),
        ("2.1.1", "Governance"),
    ]
    assert rec.section == "Management"


def test_section_without_contents_or_numbered_prefix_uses_latest_heading() -> None:
    text = replace(BASE, "2.1.1 The commissioners", "7.4 The commissioners")
    text = text[: text.index("Contents\n")] + text[text.index("Summary of the review\n\nThis") :]
    rec = parse_report(text).recommendations[3]
    assert [(c.paragraph, c.section) for c in rec.citations] == [("7.4", "Governance")]


def test_one_paragraph_citing_several_recommendations() -> None:
    text = replace(BASE, "[Recommendation 1.1](#).", "Recommendations 1.1 and 1.2, [Recommendation 2.1](#)")
    preview = parse_report(text)
    assert [c.paragraph for c in preview.recommendations[0].citations] == ["1.1"]
    assert [c.paragraph for c in preview.recommendations[1].citations] == ["1.1", "2.2.1"]
    assert [c.paragraph for c in preview.recommendations[2].citations] == ["1.1", "1.2"]
    assert preview.recommendations[1].section == "Early help"  # its first citing paragraph


def test_a_paragraph_citing_twice_counts_once() -> None:
    text = replace(
        BASE, "[Recommendation 1.1](#).", "Recommendation 1.1. More text. [Recommendation 1.1](#)."
    )
    assert len(parse_report(text).recommendations[0].citations) == 1


def test_hard_wrapped_title() -> None:
    text = replace(
        BASE,
        "Children Looked-after and Safeguarding in Testshire",
        "Children Looked-after and\nSafeguarding in Testshire",
    )
    assert parse_report(text).title == BASE_SUMMARY["title"]
    text = replace(BASE, "Safeguarding in Testshire", "Safeguarding in\nTestshire")
    assert (parse_report(text).title, parse_report(text).area) == (BASE_SUMMARY["title"], "Testshire")


def test_title_is_not_joined_with_a_subtitle() -> None:
    text = replace(BASE, "in Testshire\n\n", "in Testshire\nThe role of health services in Testshire\n\n")
    assert parse_report(text).title == BASE_SUMMARY["title"]


def test_area_from_a_field() -> None:
    text = replace(BASE, "Date of review:", "Local authority:\tTestshire and Borough\nDate of review:")
    assert parse_report(text).area == "Testshire and Borough"


def test_action_plan_phrased_the_other_way_round() -> None:
    text = replace(
        BASE,
        "An action plan addressing the recommendations above is required from NHS Delta CCG and NHS Epsilon CCG, "
        "within 20 working days of receipt of this report.",
        "An action plan is required within 15 working days of receipt of this report from NHS Delta CCG.",
    )
    preview = parse_report(text)
    assert preview.action_plan is not None
    assert (preview.action_plan.working_days, preview.action_plan.organisations) == (15, [DELTA])


# -- owners -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "known", "expected"),
    [
        ("Kirklees Council", [], ["Kirklees Council"]),
        (
            "NHS North Kirklees CCG and NHS Greater Huddersfield CCG",
            [],
            ["NHS North Kirklees CCG", "NHS Greater Huddersfield CCG"],
        ),
        (
            "Calderdale and Huddersfield NHS Foundation Trust",
            [],
            ["Calderdale and Huddersfield NHS Foundation Trust"],
        ),
        (
            "South West Yorkshire Partnership NHS Foundation Trust, Calderdale and Huddersfield NHS Foundation Trust "
            "and The Mid Yorkshire Hospitals NHS Trust",
            [],
            [
                "South West Yorkshire Partnership NHS Foundation Trust",
                "Calderdale and Huddersfield NHS Foundation Trust",
                "The Mid Yorkshire Hospitals NHS Trust",
            ],
        ),
        (
            "NHS England, NHS North Kirklees CCG and NHS Greater Huddersfield CCG",
            [],
            ["NHS England", "NHS North Kirklees CCG", "NHS Greater Huddersfield CCG"],
        ),
        (
            "Change, Grow, Live and Kirklees Council",
            ["Change, Grow, Live"],
            ["Change, Grow, Live", "Kirklees Council"],
        ),
        (
            "Kirklees Council and Change Grow Live",
            ["change, grow, live"],
            ["Kirklees Council", "Change Grow Live"],
        ),
        ("Alpha Trust, Beta Trust, and Gamma Trust", [], ["Alpha Trust", "Beta Trust", "Gamma Trust"]),
        ("Alpha Trust & Beta Council", [], ["Alpha Trust", "Beta Council"]),
        (
            "Stoke-on-Trent CCG and North Staffordshire Combined Healthcare NHS Trust",
            [],
            ["Stoke-on-Trent CCG", "North Staffordshire Combined Healthcare NHS Trust"],
        ),
        (
            "St John\u2019s Hospice and Kirklees Council",
            ["St John's Hospice"],
            ["St John\u2019s Hospice", "Kirklees Council"],
        ),
        (
            "Barking, Havering and Redbridge University Hospitals NHS Trust and Kirklees Council",
            ["Barking, Havering and Redbridge University Hospitals NHS Trust"],
            ["Barking, Havering and Redbridge University Hospitals NHS Trust", "Kirklees Council"],
        ),
        ("CHFT and MYHT", [], ["CHFT", "MYHT"]),
    ],
)
def test_split_organisations(phrase: str, known: list[str], expected: list[str]) -> None:
    names, certain = split_organisations(phrase, known)
    assert names == expected
    assert certain


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Change, Grow, Live and Kirklees Council", ["Change, Grow, Live and Kirklees Council"]),
        ("Kirklees Council and Locala", ["Kirklees Council", "Locala"]),
    ],
)
def test_split_organisations_says_when_unsure(phrase: str, expected: list[str]) -> None:
    names, certain = split_organisations(phrase, [])
    assert names == expected
    assert not certain


def test_single_owner_with_the_prefix_is_kept_as_written() -> None:
    assert parse_report(BASE).groups[0].owner_names == ["The Gamma Hospitals NHS Trust"]


def test_owner_names_are_split_from_the_organisation_type_without_front_matter() -> None:
    text = re.sub(r"(?m)^(Provider services included|CCGs included):.*\n", "", BASE)
    preview = parse_report(text)
    assert [group.owner_names for group in preview.groups] == [[GAMMA], [ALPHA, CGL], [DELTA, EPSILON, GAMMA]]
    # "Change, Grow, Live" has no organisation-type ending, so that split is flagged for a person to check.
    assert [(w.code, w.line) for w in preview.warnings] == [("uncertain_owner_split", preview.groups[1].line)]


def test_known_organisations_from_the_caller_help_the_split() -> None:
    text = re.sub(r"(?m)^(Provider services included|CCGs included):.*\n", "", BASE)
    preview = parse_report(text, known_organisations=[CGL])
    assert preview.groups[1].owner_names == [ALPHA, CGL]
    assert preview.warnings == []


def test_joint_owners_are_copied_to_every_item_of_the_group() -> None:
    preview = parse_report(BASE)
    assert preview.recommendations[0].owners == preview.recommendations[1].owners == [GAMMA]


# -- warnings ---------------------------------------------------------------------------------------

WARNING_CASES: dict[str, tuple[Callable[[str], str], set[str]]] = {
    "uncited_recommendation": (
        lambda t: replace(t, " [Recommendation 3.1](#).", ""),
        {"uncited_recommendation"},
    ),
    "unknown_citation": (
        lambda t: replace(t, "[Recommendation 1.1](#).", "[Recommendation 1.1](#). [Recommendation 7.3](#)."),
        {"unknown_citation"},
    ),
    "numbering_gap in groups": (
        lambda t: replace(
            replace(t, "3. NHS Delta CCG", "4. NHS Delta CCG"), "3.1 Agree", "4.1 Agree"
        ).replace("Recommendation 3.1", "Recommendation 4.1"),
        {"numbering_gap"},
    ),
    "numbering_gap in items": (
        lambda t: replace(t, "1.2 Make", "1.3 Make").replace("Recommendation 1.2", "Recommendation 1.3"),
        {"numbering_gap"},
    ),
    "numbering_repeat of an item": (
        lambda t: replace(t, "1.2 Make sure staff", "1.1 Make sure staff").replace(
            "Recommendation 1.2.", "Recommendation 1.1."
        ),
        {"numbering_repeat"},
    ),
    "numbering_repeat of a group": (
        lambda t: replace(
            replace(t, "3. NHS Delta CCG", "2. NHS Delta CCG"), "3.1 Agree", "2.2 Agree"
        ).replace("Recommendation 3.1", "Recommendation 2.2"),
        {"numbering_repeat"},
    ),
    "numbering_mismatch": (
        lambda t: replace(t, "1.2 Make", "2.2 Make").replace("Recommendation 1.2.", "Recommendation 2.2."),
        {"numbering_mismatch"},
    ),
    "empty_group": (
        lambda t: replace(
            t, "\nNext steps\n\nAn action", "\n4. NHS England should:\n\nNext steps\n\nAn action"
        ),
        {"empty_group"},
    ),
    "empty_group in the middle": (
        lambda t: (
            replace(t, "2.1 Speed up the handover of care to health visitors.\n", "")
            .replace(" [Recommendation 2.1.](#)", "")
            .replace("[Recommendation 2.1.](#)", "")
        ),
        {"empty_group"},
    ),
    "no_action_plan_clause": (
        lambda t: t[: t.index("An action plan")],
        {"no_action_plan_clause"},
    ),
    "missing_review_dates": (
        lambda t: replace(t, "Date of review:\t4 March 2019 to 8 March 2019\n", ""),
        {"missing_review_dates"},
    ),
    "missing_published_date": (
        lambda t: replace(t, "Date of publication:\t17 May 2019\n", ""),
        {"missing_published_date"},
    ),
    "citation_outside_paragraph": (
        lambda t: replace(
            t, "made at the end of the report.", "made at the end of the report, Recommendation 1.1."
        ),
        {"citation_outside_paragraph"},
    ),
    "unrecognised_line": (
        lambda t: replace(
            t, "\n2. Alpha and Beta", "\nThis sentence does not belong in the list.\n\n2. Alpha and Beta"
        ),
        {"unrecognised_line"},
    ),
}


@pytest.mark.parametrize("case", list(WARNING_CASES), ids=list(WARNING_CASES))
def test_warnings(case: str) -> None:
    change, expected = WARNING_CASES[case]
    preview = parse_report(change(BASE))
    assert codes(preview) == expected
    for warning in preview.warnings:
        assert warning.message
        if warning.line is not None:
            assert warning.message.startswith(f"line {warning.line}:")


def test_uncited_recommendation_has_no_section() -> None:
    preview = parse_report(WARNING_CASES["uncited_recommendation"][0](BASE))
    assert preview.recommendations[3].section is None
    assert preview.recommendations[3].citations == []


def test_unknown_citation_is_listed() -> None:
    preview = parse_report(WARNING_CASES["unknown_citation"][0](BASE))
    line = line_of(BASE, "1.1 Midwives")
    assert preview.citations_of_unknown == [UnknownCitation("7.3", "1.1", "Early help", line)]
    assert preview.recommendations[0].citations == [Citation("1.1", "Early help", line)]


def test_a_recommendation_ref_repeated_keeps_both_items() -> None:
    preview = parse_report(WARNING_CASES["numbering_repeat of an item"][0](BASE))
    assert [rec.ref for rec in preview.recommendations] == ["1.1", "1.1", "2.1", "3.1"]


# -- not a report -----------------------------------------------------------------------------------


def test_prose_is_not_a_report() -> None:
    with pytest.raises(NotAReport) as caught:
        parse_report("A shopping list\n\nEggs\nMilk\n")
    assert isinstance(caught.value, ValueError)
    assert caught.value.line == 4
    message = str(caught.value)
    assert "no 'Recommendations' section found" in message
    assert "'Recommendations'" in message and "'1. <organisation> should:'" in message


@pytest.mark.parametrize("text", ["", "\n\n", "  \r\n\t\n", "\ufeff"])
def test_empty_text_is_not_a_report(text: str) -> None:
    with pytest.raises(NotAReport) as caught:
        parse_report(text)
    assert caught.value.line == 1
    assert "empty" in str(caught.value)


def test_item_outside_any_group() -> None:
    text = "A report\n\nRecommendations\n\n1.1 Do something useful.\n\n2. Kirklees Council should:\n2.1 Do more.\n"
    with pytest.raises(NotAReport) as caught:
        parse_report(text)
    assert caught.value.line == 5
    assert str(caught.value).startswith(
        "line 5: recommendation item '1.1 Do something useful.' outside any owner group"
    )


def test_recommendations_heading_without_groups() -> None:
    text = "A report\n\nRecommendations\n\nWe make none this time.\n"
    with pytest.raises(NotAReport) as caught:
        parse_report(text)
    assert caught.value.line == 3
    assert str(caught.value).startswith("line 3: 'Recommendations' is not followed by numbered groups")


def test_contents_entry_alone_is_not_a_recommendations_section() -> None:
    text = "A report\n\nContents\nSummary\t1\nRecommendations\t9\n\nSummary\n\nNothing else.\n"
    with pytest.raises(NotAReport, match="no 'Recommendations' section found"):
        parse_report(text)


# -- round trip: render random recommendation sets with random artefacts, parse them back ------------

POOL = [
    "Calderdale and Huddersfield NHS Foundation Trust",
    "Change, Grow, Live",
    "The Mid Yorkshire Hospitals NHS Trust",
    "NHS North Kirklees CCG",
    "St John\u2019s Hospice",
    "Stoke-on-Trent CCG",
    "Barking, Havering and Redbridge University Hospitals NHS Trust",
    "Locala Community Partnerships Community Interest Company",
    "NHS England",
]
WORDS = ["ensure", "that", "staff", "children\u2019s", "records", "are", "legible", "and", "shared", "with", "the",
         "0-19", "service", "GPs", "review", "front", "door", "'think", "family'", "co-ordinated", "health"]  # fmt: skip
SECTIONS = ["Early help", "Child in need", "Child protection", "Looked after children"]
BULLETS = ["", "- ", " - ", "\t- ", "* ", "  "]
CITATION_STYLES = [
    " [Recommendation {ref}](#).",
    " [Recommendation {ref}.](#)",
    " [**Recommendation {ref}.**](#)",
    " Recommendation {ref}",
    "\n\n[Recommendation {ref}.](#)",
    "\n[Recommendation {ref}](#).",
]

sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(
    lambda w: " ".join(w).capitalize() + "."
)
groups_strategy = st.lists(
    st.tuples(
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True),
        st.lists(sentences, min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=5,
)


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@st.composite
def rendered_reports(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]], list[str]]:
    groups = draw(groups_strategy)
    expected: list[dict[str, Any]] = []
    items: list[str] = []
    spacer = draw(st.sampled_from([" ", "  ", "\t"]))
    bold = draw(st.booleans())
    for number, (owners, texts) in enumerate(groups, start=1):
        heading = f"{number}. {_join_names(owners)} should:"
        items.append(f"- {heading}**" if bold else heading)
        if draw(st.booleans()):
            items.append("")
        for index, text in enumerate(texts, start=1):
            ref = f"{number}.{index}"
            items.append(f"{draw(st.sampled_from(BULLETS))}{ref}{spacer}{text.replace(' ', spacer)}")
            section = draw(st.integers(0, len(SECTIONS) - 1))
            expected.append({"ref": ref, "text": text, "owners": owners, "section": section})
        items.append("")
    body = _render_body(draw, expected)
    action_plan = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=2, unique=True))
    lines = [
        "Review of health services for Children Looked-after and Safeguarding in Somewhere",
        "",
        "Date of review:\t1 March 2021 to 5 March 2021",
        "Date of publication:\t1 June 2021",
        "Provider services included:\t<ul> \u2022 " + " \u2022 ".join(f"{name} (X)" for name in POOL),
        "",
        *body,
        "Recommendations",
        "",
        *items,
        "Next steps",
        "",
        f"An action plan is required from {_join_names(action_plan)}, within **20 working days** of receipt.",
    ]
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, expected, action_plan


def _render_body(draw: st.DrawFn, expected: list[dict[str, Any]]) -> list[str]:
    body: list[str] = []
    for section_index, title in enumerate(SECTIONS):
        body += [f"{section_index + 1}. {title}", ""]
        citing = [rec for rec in expected if rec["section"] == section_index]
        for paragraph_index, rec in enumerate(citing, start=1):
            rec["paragraph"] = f"{section_index + 1}.{paragraph_index}"
            style = draw(st.sampled_from(CITATION_STYLES))
            body += [
                f"{rec['paragraph']} Some findings about \u2018this\u2019 service."
                + style.format(ref=rec["ref"]),
                "",
            ]
    return body


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(rendered_reports())
def test_round_trip(report: tuple[str, list[dict[str, Any]], list[str]]) -> None:
    text, expected, action_plan = report
    preview = parse_report(text)
    assert preview.warnings == []
    assert [rec.ref for rec in preview.recommendations] == [rec["ref"] for rec in expected]
    for parsed, wanted in zip(preview.recommendations, expected, strict=True):
        assert parsed.text == wanted["text"]
        assert parsed.owners == wanted["owners"]
        assert parsed.section == SECTIONS[wanted["section"]]
        assert [(c.paragraph, c.section) for c in parsed.citations] == [(wanted["paragraph"], parsed.section)]
    assert preview.action_plan is not None
    assert (preview.action_plan.working_days, preview.action_plan.organisations) == (20, action_plan)


@given(st.text())
def test_arbitrary_text_parses_or_raises_not_a_report(text: str) -> None:
    try:
        preview = parse_report(text)
    except NotAReport as error:
        assert error.line is None or error.line >= 1
    else:
        json.dumps(preview.to_dict())
