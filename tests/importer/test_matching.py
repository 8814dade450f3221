"""Organisation-name matching: normalisation, acronyms, and never guessing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.importer.matching import (
    KnownOrganisation,
    acronym,
    match_organisation,
    normalise_org_name,
    propose_code,
)

KNOWN = [
    KnownOrganisation(1, "MYHT", "The Mid Yorkshire Hospitals NHS Trust"),
    KnownOrganisation(2, "CHFT", "Calderdale and Huddersfield NHS Foundation Trust"),
    KnownOrganisation(3, "SWYPFT", "South West Yorkshire Partnership NHS Foundation Trust"),
    KnownOrganisation(4, "Locala", "Locala Community Partnerships Community Interest Company"),
    KnownOrganisation(5, "CGL", "Change, Grow, Live"),
    KnownOrganisation(6, "NKCCG", "NHS North Kirklees CCG"),
    KnownOrganisation(7, "GHCCG", "NHS Greater Huddersfield CCG"),
    KnownOrganisation(8, "NHSE", "NHS England"),
    KnownOrganisation(9, "KC", "Kirklees Council"),
]


# -- normalise_org_name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("NHS North Kirklees CCG", "North Kirklees NHS CCG"),
        ("NHS North Kirklees CCG", "North Kirklees CCG NHS"),
        ("NHS North Kirklees CCG", "NHS North Kirklees Clinical Commissioning Group"),
        ("NHS North Kirklees CCG", "nhs  north   kirklees ccg"),
        ("The Mid Yorkshire Hospitals NHS Trust", "Mid Yorkshire Hospitals NHS Trust"),
        ("The Mid Yorkshire Hospitals NHS Trust", "THE MID YORKSHIRE HOSPITALS NHS TRUST."),
        (
            "Calderdale and Huddersfield NHS Foundation Trust",
            "Calderdale & Huddersfield NHS Foundation Trust",
        ),
        ("Change, Grow, Live", "Change Grow Live"),
        ("St John's Hospice", "St John\u2019s Hospice"),
        ("Stoke-on-Trent CCG", "Stoke on Trent CCG"),
        ("Kirklees Council", "Kirklees\tCouncil"),
    ],
)
def test_normalise_org_name_equates_variants(left: str, right: str) -> None:
    assert normalise_org_name(left) == normalise_org_name(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("NHS England", "England"),  # NHS counts, wherever it is
        ("NHS North Kirklees CCG", "NHS Greater Huddersfield CCG"),
        ("Theatre Trust", "Atre Trust"),  # only a whole leading "the" is dropped
    ],
)
def test_normalise_org_name_keeps_different_names_apart(left: str, right: str) -> None:
    assert normalise_org_name(left) != normalise_org_name(right)


def test_normalise_org_name_output() -> None:
    assert (
        normalise_org_name("  The North Kirklees NHS Clinical Commissioning Group ")
        == "nhs north kirklees ccg"
    )


@given(st.text())
def test_normalise_org_name_is_idempotent(name: str) -> None:
    once = normalise_org_name(name)
    assert normalise_org_name(once) == once


# -- acronym and proposed codes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Calderdale and Huddersfield NHS Foundation Trust", "CHFT"),
        ("The Mid Yorkshire Hospitals NHS Trust", "MYHT"),
        ("South West Yorkshire Partnership NHS Foundation Trust", "SWYPFT"),
        ("NHS North Kirklees CCG", "NKCCG"),
        ("NHS Greater Huddersfield CCG", "GHCCG"),
        ("NHS England", "NHSE"),
        ("Change, Grow, Live", "CGL"),
        ("Kirklees Council", "KC"),
        ("Northorpe Hall Child and Family Trust", "NHCFT"),
        ("The Basement Recovery Project", "BRP"),
    ],
)
def test_acronym(name: str, expected: str) -> None:
    assert acronym(name) == expected


def test_propose_code_is_unique_case_insensitively() -> None:
    assert propose_code("Calderdale and Huddersfield NHS Foundation Trust") == "CHFT"
    assert propose_code("Central Hampshire Foundation Trust", ["chft"]) == "CHFT2"
    assert propose_code("Central Hampshire Foundation Trust", ["CHFT", "CHFT2"]) == "CHFT3"


def test_propose_code_for_a_single_word_name() -> None:
    assert propose_code("Barnardo's") == "Barnardos"


# -- match_organisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        # by code, case-insensitively
        ("CHFT", "CHFT"),
        ("chft", "CHFT"),
        ("Locala", "Locala"),
        ("LOCALA", "Locala"),
        # by normalised name
        ("The Mid Yorkshire Hospitals NHS Trust", "MYHT"),
        ("Mid Yorkshire Hospitals NHS Trust", "MYHT"),
        ("North Kirklees NHS Clinical Commissioning Group", "NKCCG"),
        ("Calderdale & Huddersfield NHS Foundation Trust", "CHFT"),
        ("Change Grow Live", "CGL"),
        ("NHS England", "NHSE"),
        ("Locala Community Partnerships Community Interest Company", "Locala"),
        # by acronym, when the words agree
        ("Calderdale and Huddersfield Foundation Trust", "CHFT"),
        ("Mid Yorkshire Hospitals Trust", "MYHT"),
        ("North Kirklees CCG", "NKCCG"),
    ],
)
def test_match_organisation_matches(name: str, code: str) -> None:
    match = match_organisation(name, KNOWN)
    assert match.kind == "matched"
    assert match.organisation is not None and match.organisation.code == code
    assert match.candidates == () and match.proposed_code is None


def test_match_by_the_acronym_of_a_known_name_when_its_code_differs() -> None:
    known = [KnownOrganisation(1, "SWY", "South West Yorkshire Partnership NHS Foundation Trust")]
    match = match_organisation("SWYPFT", known)
    assert match.kind == "matched" and match.organisation == known[0]


def test_same_initials_but_different_words_is_new_not_a_guess() -> None:
    match = match_organisation("Central Hampshire Foundation Trust", KNOWN)
    assert match.kind == "new"
    assert match.proposed_code == "CHFT2"
    assert match.organisation is None


def test_new_organisation_gets_an_acronym_code() -> None:
    match = match_organisation("Northorpe Hall Child and Family Trust", KNOWN)
    assert (match.kind, match.proposed_code) == ("new", "NHCFT")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Locala Community Partnerships Community Interest Company", "Locala"),
        ("Brigantes Health CIC", "Brigantes"),
        ("Spectrum Community Health Ltd", "Spectrum"),
        ("Calderdale and Huddersfield NHS Foundation Trust", "CHFT"),  # not a company: initials
    ],
)
def test_a_company_is_known_by_its_trading_name(name: str, code: str) -> None:
    assert propose_code(name) == code


def test_two_distinct_candidates_are_ambiguous() -> None:
    known = [
        KnownOrganisation(1, "NKCCG", "NHS North Kirklees CCG"),
        KnownOrganisation(2, "NKCCG-OLD", "North Kirklees NHS Clinical Commissioning Group"),
    ]
    match = match_organisation("NHS North Kirklees CCG", known)
    assert match.kind == "ambiguous"
    assert {org.id for org in match.candidates} == {1, 2}
    assert match.organisation is None


def test_code_of_one_and_name_of_another_is_ambiguous() -> None:
    known = [
        KnownOrganisation(1, "KC", "Kirklees Council"),
        KnownOrganisation(2, "KCOUNCIL", "KC"),
    ]
    assert match_organisation("KC", known).kind == "ambiguous"


def test_ambiguous_acronym() -> None:
    known = [
        KnownOrganisation(1, "X1", "Calderdale Hospitals Foundation Trust"),
        KnownOrganisation(2, "X2", "Castle Hill Foundation Trust"),
    ]
    match = match_organisation("CHFT", known)
    assert match.kind == "ambiguous"
    assert [org.code for org in match.candidates] == ["X1", "X2"]


def test_the_same_organisation_found_twice_is_one_candidate() -> None:
    known = [KnownOrganisation(None, "CHFT", "Calderdale and Huddersfield NHS Foundation Trust")]
    match = match_organisation("CHFT", known)
    assert match.kind == "matched"


def test_no_known_organisations() -> None:
    match = match_organisation("Kirklees Council", [])
    assert (match.kind, match.proposed_code) == ("new", "KC")


def test_exact_match_wins_over_acronym() -> None:
    known = [
        KnownOrganisation(1, "CHFT", "Calderdale and Huddersfield NHS Foundation Trust"),
        KnownOrganisation(2, "CAL", "Calderdale Huddersfield Foundation Trust"),
    ]
    match = match_organisation("CHFT", known)
    assert match.kind == "matched" and match.organisation is not None and match.organisation.id == 1
