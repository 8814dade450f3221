"""Match organisation names, as a report writes them, to known organisations.

Pure functions, no database: the caller loads the known organisations and
decides what to do with the answer. The matcher never guesses: when more than
one distinct organisation fits, the answer is ``ambiguous`` with the candidates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "KnownOrganisation",
    "Match",
    "MatchKind",
    "acronym",
    "match_organisation",
    "normalise_org_name",
    "propose_code",
]

MatchKind = Literal["matched", "new", "ambiguous"]

_APOSTROPHES = "'\u2019\u2018\u02bc`"
_NON_WORD = re.compile(r"[^\w\s]+")
_CCG_LONG = re.compile(r"\bclinical commissioning groups?\b")
# Words that carry no initial in an acronym ("Calderdale and Huddersfield ..." -> CHFT).
_ACRONYM_SKIP = frozenset({"and", "of", "the", "for", "in", "on", "at", "nhs"})
_MAX_CODE_LENGTH = 12
# A company's legal name ends in its form ("... Community Interest Company", "... Ltd"); it is
# known by its first word, its trading name ("Locala"), not by its initials.
_COMPANY_FORM = re.compile(r"\s(?:community interest company|cic|limited|ltd|plc)$", re.IGNORECASE)


@dataclass(frozen=True)
class KnownOrganisation:
    id: int | None
    code: str
    name: str


@dataclass(frozen=True)
class Match:
    kind: MatchKind
    organisation: KnownOrganisation | None = None
    candidates: tuple[KnownOrganisation, ...] = field(default_factory=tuple)
    proposed_code: str | None = None


def normalise_org_name(name: str) -> str:
    """Reduce a name to a comparison key.

    Case, punctuation, apostrophes, doubled spaces and a leading "the" are
    ignored; "&" is "and"; "Clinical Commissioning Group" is "CCG"; and "NHS"
    may sit anywhere ("NHS North Kirklees CCG" ~ "North Kirklees NHS CCG"): its
    presence counts, its position does not.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = text.replace("&", " and ")
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "")
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = _CCG_LONG.sub("ccg", text)
    words = text.split()
    if words and words[0] == "the":
        words = words[1:]
    has_nhs = "nhs" in words
    words = [word for word in words if word != "nhs"]
    if has_nhs:
        words.insert(0, "nhs")
    return " ".join(words)


def acronym(name: str) -> str:
    """The initials of a name's significant words, e.g. "CHFT", "NKCCG", "NHSE".

    Words in capitals ("CCG", "NHS") are kept whole; "and", "of", "the" and the
    like are skipped, and so is "NHS" unless fewer than two other words remain
    ("NHS England" -> "NHSE", "NHS North Kirklees CCG" -> "NKCCG").
    """
    words = _words(name)
    significant = [word for word in words if word.casefold() not in _ACRONYM_SKIP]
    if len(significant) < 2 and any(word.casefold() == "nhs" for word in words):
        significant = [word for word in words if word.casefold() not in _ACRONYM_SKIP - {"nhs"}]
    return "".join(_initial(word) for word in significant)


def _words(name: str) -> list[str]:
    text = unicodedata.normalize("NFKC", name).replace("&", " and ")
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "")
    return _NON_WORD.sub(" ", text).replace("_", " ").split()


def _initial(word: str) -> str:
    if len(word) > 1 and word.isupper() and word.isalpha():
        return word
    return word[0].upper()


def propose_code(name: str, taken: Iterable[str] = ()) -> str:
    """A short code for a new organisation, unique (case-insensitively) among ``taken``."""
    base = acronym(name)
    if _COMPANY_FORM.search(name.strip()) and len(_words(name)[0]) >= 2:
        base = _words(name)[0]
    elif len(base) < 2:
        words = _words(name)
        significant = [w for w in words if w.casefold() not in _ACRONYM_SKIP] or words or ["ORG"]
        base = significant[0]
    base = base[:_MAX_CODE_LENGTH]
    used = {code.casefold() for code in taken}
    code, suffix = base, 2
    while code.casefold() in used:
        code = f"{base}{suffix}"
        suffix += 1
    return code


def match_organisation(name: str, known: Sequence[KnownOrganisation]) -> Match:
    """Find the known organisation ``name`` refers to, without guessing.

    Two tiers, so that a looser rule never overrides an exact answer:

    1. the code (case-insensitive: "CHFT", "Locala") or the normalised name;
    2. only when tier 1 finds nothing, acronyms: ``name`` is one word equal to
       the acronym of a known name ("SWYPFT"), or the acronym of ``name`` is a
       known code or the acronym of a known name *and* the words of one name
       are all in the other ("Calderdale & Huddersfield Foundation Trust" is
       CHFT; "Central Hampshire Foundation Trust", same initials, is not).

    One distinct candidate -> ``matched``; several -> ``ambiguous``; none ->
    ``new`` with a proposed code that no known organisation uses.
    """
    candidates = _exact_candidates(name, known) or _acronym_candidates(name, known)
    if len(candidates) == 1:
        return Match(kind="matched", organisation=candidates[0])
    if candidates:
        return Match(kind="ambiguous", candidates=tuple(candidates))
    return Match(kind="new", proposed_code=propose_code(name, (org.code for org in known)))


def _exact_candidates(name: str, known: Sequence[KnownOrganisation]) -> list[KnownOrganisation]:
    key = normalise_org_name(name)
    wanted_code = name.strip().casefold()
    if not key:
        return []
    found = [
        org
        for org in known
        if org.code.strip().casefold() == wanted_code or normalise_org_name(org.name) == key
    ]
    return _distinct(found)


def _acronym_candidates(name: str, known: Sequence[KnownOrganisation]) -> list[KnownOrganisation]:
    own = acronym(name).casefold()
    words = _significant_words(name)
    single_word = name.strip().casefold() if len(name.split()) == 1 else None
    found = []
    for org in known:
        theirs = acronym(org.name).casefold()
        if single_word is not None:
            if single_word == theirs:
                found.append(org)
        elif len(own) >= 2 and own in {org.code.strip().casefold(), theirs}:
            other = _significant_words(org.name)
            if words and other and (words <= other or other <= words):
                found.append(org)
    return _distinct(found)


def _significant_words(name: str) -> set[str]:
    return set(normalise_org_name(name).split()) - _ACRONYM_SKIP


def _distinct(organisations: Iterable[KnownOrganisation]) -> list[KnownOrganisation]:
    seen: set[object] = set()
    result = []
    for org in organisations:
        identity = org.id if org.id is not None else org.code.strip().casefold()
        if identity not in seen:
            seen.add(identity)
            result.append(org)
    return result
