"""Parse the plain text of an inspection report into a preview of what it asks for.

Pure: no database and no web framework. The input is the report as text (as
copied out of a PDF or web page, artefacts and all); the output is a
:class:`ReportPreview` for a person to check before anything is imported.

The expected shape, which holds for CQC CLAS reviews and for reports written
the same way by other regulators:

* front matter: the title on the first line, then "Key: value" fields such as
  "Date of review", "Date of publication", "Provider services included";
* an optional contents list ("Contents" then titles with page numbers);
* body headings "N. Title" / "N.M Title" and numbered paragraphs
  "N.M(.K) text", which cite recommendations: "... [Recommendation 4.8.](#)";
* a "Recommendations" heading followed by owner groups "N. <organisations>
  should:" each with items "N.M text";
* an action-plan clause: "An action plan ... is required from A and B, within
  20 working days of receipt of this report."
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from itertools import accumulate
from typing import Any

from app.importer.matching import normalise_org_name

__all__ = [
    "ActionPlanClause",
    "Citation",
    "NotAReport",
    "OwnerGroup",
    "ParseWarning",
    "ParsedRecommendation",
    "ReportPreview",
    "UnknownCitation",
    "Warning",
    "parse_report",
    "split_organisations",
]


# -- result types -------------------------------------------------------------------------------------


class NotAReport(ValueError):
    """The text does not have the shape of a report; ``line`` is 1-based (None: the whole text)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: nested dataclasses as dicts, dates as ISO strings."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


@dataclass(frozen=True)
class ParseWarning(_JsonMixin):
    """Something a person should look at; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str
    line: int | None = None


# The brief's name for it; ParseWarning avoids shadowing the builtin inside this module.
Warning = ParseWarning  # noqa: A001


@dataclass(frozen=True)
class Citation(_JsonMixin):
    """A report paragraph ("5.1.19") that cites a recommendation, and the section it sits in."""

    paragraph: str | None
    section: str | None
    line: int


@dataclass(frozen=True)
class UnknownCitation(_JsonMixin):
    """A citation of a recommendation reference that the Recommendations section does not have."""

    ref: str
    paragraph: str | None
    section: str | None
    line: int


@dataclass(frozen=True)
class OwnerGroup(_JsonMixin):
    number: int
    owner_names: list[str]
    line: int


@dataclass(frozen=True)
class ParsedRecommendation(_JsonMixin):
    ref: str
    text: str
    owners: list[str]
    section: str | None
    citations: list[Citation]
    line: int


@dataclass(frozen=True)
class ActionPlanClause(_JsonMixin):
    working_days: int
    organisations: list[str]
    line: int


@dataclass(frozen=True)
class ReportPreview(_JsonMixin):
    title: str
    area: str | None
    review_start_date: date | None
    review_end_date: date | None
    published_date: date | None
    action_plan: ActionPlanClause | None
    groups: list[OwnerGroup]
    recommendations: list[ParsedRecommendation]
    citations_of_unknown: list[UnknownCitation]
    warnings: list[ParseWarning]


# -- lines ----------------------------------------------------------------------------------------------

_BULLET = re.compile(r"^(?:[-*\u2022\u00b7\u2013\u2014\u25aa\u25cf]\s+)+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
# Neither bracket inside a link's text or address: each try stops at the next bracket, so
# a line of "[[[[" or "](((" is read once, not once per bracket.
_MD_LINK = re.compile(r"\[([^\[\]]*)\]\([^()]*\)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based
    raw: str  # without the line ending and BOM
    text: str  # artefacts stripped, whitespace normalised
    bullet: bool  # the raw line started with a bullet


def _split_lines(text: str) -> list[_Line]:
    text = text.replace("\ufeff", "")
    return [_make_line(number, raw) for number, raw in enumerate(text.splitlines(), start=1)]


def _make_line(number: int, raw: str) -> _Line:
    unstarred = raw.replace("**", "").strip()
    bullet = bool(_BULLET.match(unstarred))
    text = _MD_HEADING.sub("", _BULLET.sub("", unstarred))
    text = _MD_LINK.sub(r"\1", text)
    return _Line(number, raw, _SPACES.sub(" ", text).strip(), bullet)


def _heading_like(text: str) -> bool:
    """Short, and not a sentence: no final punctuation, no citation."""
    words = text.split()
    return (
        0 < len(words) <= 10
        and len(text) <= 90
        and text[-1] not in ".,;:!?"
        and text[0].isalpha()
        and not _CITATION.search(text)
    )


# -- contents -------------------------------------------------------------------------------------------

_CONTENTS_TITLE = re.compile(r"^(?:table of )?contents:?$", re.IGNORECASE)
# A title, then dot leaders, tabs or a run of spaces, then a page number.
_CONTENTS_ENTRY = re.compile(
    r"^(?P<title>\S.*?)(?:\s*(?:\.{2,}|\u2026+)\s*|\s*\t\s*| {2,})(?P<page>\d{1,4})$"
)
_DOT_LEADERS = re.compile(r"^(?P<title>\S.*?)\s*(?:\.{3,}|\u2026+)\s*$")
_PAGE_NUMBER = re.compile(r"^(?P<title>\S.*?)\s+(?P<page>\d{1,4})$")
# The three patterns above try each end of the title in turn, and at each end read the run of
# spaces or dots that follows: quadratic in a run's length. Matched against a line whose runs
# are cut short (below), each try reads a few characters, so they are linear in the line.
_WHITESPACE_RUN = re.compile(r"\s+")
_DOTS_RUN = re.compile(r"\.{4,}|\u2026{2,}")


def _short_runs(raw: str) -> str:
    """``raw`` with every run of whitespace or dots cut to the shortest run the patterns read alike.

    A run of whitespace with a tab becomes a tab, one ending in two spaces becomes two
    spaces, any other a space; dot leaders become three dots or one ellipsis.
    """

    def whitespace(run: re.Match[str]) -> str:
        text = run[0]
        return "\t" if "\t" in text else "  " if text.endswith("  ") else " "

    def dots(run: re.Match[str]) -> str:
        return "..." if run[0][0] == "." else "\u2026"

    return _DOTS_RUN.sub(dots, _WHITESPACE_RUN.sub(whitespace, raw))


def _contents_lines(lines: Sequence[_Line]) -> dict[int, str]:
    """Line index -> the entry's title, for every line that belongs to a contents list.

    The block after a "Contents" line runs to the first blank line after an
    entry, or to the first sentence-like line; elsewhere a line counts only
    when it has dot leaders, or a tab or a run of spaces before a page number,
    and a short title.
    """
    found: dict[int, str] = {}
    in_block = started = False
    for index, line in enumerate(lines):
        raw = line.raw.replace("**", "").strip()
        raw = _short_runs(_BULLET.sub("", raw))
        if _CONTENTS_TITLE.match(line.text):
            in_block, started = True, False
            found[index] = line.text
            continue
        if in_block and not raw:
            in_block = not started
            continue
        entry = _CONTENTS_ENTRY.match(raw) or _DOT_LEADERS.match(raw)
        if in_block and entry is None:
            entry = _PAGE_NUMBER.match(raw)
            in_block = entry is not None or _heading_like(line.text)
        if in_block or (entry and len(entry["title"].split()) <= 12):
            title = entry["title"] if entry else raw
            found[index] = _SPACES.sub(" ", title).rstrip(" .").strip()
            started = True
    return found


# -- front matter ---------------------------------------------------------------------------------------

_FIELD = re.compile(r"^(?P<key>[^:<>=\"]{2,100}?)\s*:\s*(?P<value>.*)$")
_ORG_LIST_KEY = re.compile(r"included|provider|commissioner|\bccgs?\b|nhs england|organisations?", re.I)
_PUBLISHED_KEY = re.compile(r"\bpublication\b|\bpublished\b", re.I)
_REVIEW_KEY = re.compile(
    r"\bdates?\b.*\b(?:review|inspection|visit|fieldwork)\b|\b(?:review|inspection)\s+dates?\b", re.I
)
_AREA_KEY = re.compile(r"^(?:local )?(?:area|local authority)$", re.I)
# No "<" inside a tag, no "(" inside a parenthesis: each try stops at the next one (linear).
_HTML_TAG = re.compile(r"<[^<>]*>")
_LIST_SEPARATOR = re.compile(r"[\u2022\u00b7\u25aa\u25cf;]")  # the pieces are stripped
_TRAILING_PARENTHESIS = re.compile(r"\([^()]*\)$")


@dataclass
class _FrontMatter:
    fields: dict[str, str] = field(default_factory=dict)  # first occurrence of each key, casefolded
    organisation_names: list[str] = field(default_factory=list)


def _read_front_matter(lines: Sequence[_Line]) -> _FrontMatter:
    """The "Key: value" fields, and organisation names from lists such as "Provider services included".

    A value may go on over the following lines (hard-wrapped, or one bullet a line) up to a blank
    line or the next field.
    """
    front = _FrontMatter()
    for index, line in enumerate(lines):
        match = _FIELD.match(line.text)
        if match is None or len(match["key"].split()) > 12 or line.bullet:
            continue
        key = match["key"].strip()
        more = _continuation(lines, index + 1)
        bullets = [item.text for item in more if item.bullet]
        value = " ".join([match["value"], *(item.text for item in more if not item.bullet)]).strip()
        front.fields.setdefault(key.casefold(), value)
        if _ORG_LIST_KEY.search(key):
            items = [*(_org_list_items(value) if value else []), *bullets]
            front.organisation_names.extend(_without_parenthesis(item) for item in items)
    return front


def _continuation(lines: Sequence[_Line], start: int) -> list[_Line]:
    more: list[_Line] = []
    for line in lines[start:]:
        if not line.text or (_FIELD.match(line.text) and not line.bullet):
            break
        more.append(line)
    return more


def _org_list_items(value: str) -> list[str]:
    pieces = [piece for piece in _LIST_SEPARATOR.split(_HTML_TAG.sub(" ", value)) if piece.strip()]
    names = [_without_parenthesis(piece) for piece in pieces]
    if len(names) == 1:
        names, _ = split_organisations(names[0], ())
    return [name for name in names if name]


def _without_parenthesis(text: str) -> str:
    """``text`` without a final "(...)", stripped: "Locala (CIC)" -> "Locala"."""
    text = text.rstrip()
    return _TRAILING_PARENTHESIS.sub("", text).strip()


def _front_field(front: _FrontMatter, key_pattern: re.Pattern[str]) -> str | None:
    return next((value for key, value in front.fields.items() if key_pattern.search(key)), None)


def _area(front: _FrontMatter, title: str) -> str | None:
    explicit = _front_field(front, _AREA_KEY)
    if explicit:
        return explicit
    _, found, rest = title.rpartition(" in ")
    rest = rest.strip(" .")
    return rest if found and rest else None


# -- dates ----------------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DAY = r"\b(?P<{0}>\d{{1,2}})(?:st|nd|rd|th)?"
_MONTH = r"(?P<{0}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_RANGE = re.compile(
    _DAY.format("d1")
    + r"(?:\s+"
    + _MONTH.format("m1")
    + r")?(?:\s+(?P<y1>\d{4}))?\s*(?:to|until|and|-|\u2013|\u2014)\s*"
    + _DAY.format("d2")
    + r"\s+"
    + _MONTH.format("m2")
    + r",?\s+(?P<y2>\d{4})\b",
    re.IGNORECASE,
)
_TEXT_DATE = re.compile(
    _DAY.format("d") + r"\s+" + _MONTH.format("m") + r",?\s+(?P<y>\d{4})\b", re.IGNORECASE
)
_ISO_DATE = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
_UK_DATE = re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})")


def _make_date(day: str, month: str, year: str) -> date | None:
    month_number = int(month) if month.isdigit() else _MONTHS.get(month.casefold())
    try:
        return date(int(year), month_number, int(day)) if month_number else None
    except ValueError:
        return None


def _dates_in(value: str) -> list[date]:
    """Every date written in ``value``, in order; "22 to 26 January 2018" gives two."""
    ranged = _DATE_RANGE.search(value)
    if ranged:
        start = _make_date(ranged["d1"], ranged["m1"] or ranged["m2"], ranged["y1"] or ranged["y2"])
        end = _make_date(ranged["d2"], ranged["m2"], ranged["y2"])
        if start and end:
            return [start, end]
    found = []
    for pattern in (_TEXT_DATE, _ISO_DATE, _UK_DATE):
        for match in pattern.finditer(value):
            day = _make_date(match["d"], match["m"], match["y"])
            if day:
                found.append((match.start(), day))
    return [day for _, day in sorted(found)]


# -- organisation lists ---------------------------------------------------------------------------------

_ORG_SEPARATOR = re.compile(r",\s+and\s+|,\s+|\s+and\s+|\s+&\s+")
# Last words that mark the end of an organisation's name.
_ORG_TYPE_TEXT = (
    "trust trusts ccg ccgs icb icbs ics csu pcn group company council authority board boards "
    "partnership partnerships service services hospital hospitals foundation ltd limited llp plc cic "
    "commissioner commissioners office agency region team practice practices surgery network alliance "
    "centre center charity project department police constabulary commission committee association "
    "society hospice university college school academy executive unit directorate ministry government "
    "england scotland wales ireland consortium collaborative federation"
)
_ORG_TYPE_WORDS = frozenset(_ORG_TYPE_TEXT.split())


def split_organisations(phrase: str, known_names: Iterable[str]) -> tuple[list[str], bool]:
    """Split "A, B and C" into organisation names, and say whether the split is certain.

    Names themselves contain the separators ("Calderdale and Huddersfield NHS
    Foundation Trust", "Change, Grow, Live"), so splitting on every ", " and
    " and " is wrong. Instead every way of cutting the phrase at its separators
    (into names of at most ``MAX_SEPARATORS_IN_A_NAME`` separators each) is
    scored, and the best kept, by in turn:

    1. fewest pieces that are neither a known name nor end like an organisation
       (a last word such as Trust, CCG, Company, Council, England, or an
       acronym such as "CHFT");
    2. most pieces that are known names (from the report's front matter or the
       caller), compared with :func:`normalise_org_name`;
    3. most pieces: "A CCG and B CCG" is two organisations, not one.

    Unknown names with no organisation-type ending ("Change, Grow, Live"
    without a front matter listing it) may be split wrongly, so the second
    value is False when the phrase had a separator to cut at and a chosen
    piece is such a name, or is an unknown name with a comma inside ("Change,
    Grow, Live and Kirklees Council" kept whole because it ends in Council).
    """
    phrase = _SPACES.sub(" ", phrase).strip().strip(",")
    if not phrase:
        return [], False
    known = {normalise_org_name(name) for name in known_names} - {""}
    cuts = [(match.start(), match.end()) for match in _ORG_SEPARATOR.finditer(phrase)]
    (minus_others, _, _), pieces = _best_split(phrase, cuts, known)
    merged = any(", " in piece and _piece_kind(piece, known) != "known" for piece in pieces)
    return pieces, not cuts or (minus_others == 0 and not merged)


# A piece spans at most this many separators ("Change, Grow, Live and Kirklees Council" spans
# three). Bounding it keeps the split linear in the phrase: each boundary is scored against the
# few before it, not against all of them.
MAX_SEPARATORS_IN_A_NAME = 6

_Score = tuple[int, int, int]  # (-pieces neither known nor typed, known pieces, pieces): higher is better


def _best_split(phrase: str, cuts: list[tuple[int, int]], known: set[str]) -> tuple[_Score, list[str]]:
    """Dynamic programming: best[i] is the best split of the phrase up to the i-th boundary."""
    bounds = [(0, 0), *cuts, (len(phrase), len(phrase))]
    best: list[tuple[_Score, int, str] | None] = [((0, 0, 0), -1, "")] + [None] * (len(bounds) - 1)
    for end in range(1, len(bounds)):
        for start in range(max(0, end - MAX_SEPARATORS_IN_A_NAME - 1), end):
            previous = best[start]
            piece = phrase[bounds[start][1] : bounds[end][0]].strip()
            if previous is None or not piece:
                continue
            kind = _piece_kind(piece, known)
            others, known_pieces, count = previous[0]
            score = (others - (kind == "other"), known_pieces + (kind == "known"), count + 1)
            current = best[end]
            if current is None or score > current[0]:
                best[end] = (score, start, piece)
    if best[-1] is None:
        return (-1, 0, 1), [phrase]
    pieces: list[str] = []
    position = len(bounds) - 1
    while position > 0:
        _, position, piece = best[position]  # type: ignore[misc]
        pieces.append(piece)
    return best[-1][0], pieces[::-1]


def _piece_kind(piece: str, known: set[str]) -> str:
    if normalise_org_name(piece) in known:
        return "known"
    words = _without_parenthesis(piece).split()
    last = re.sub(r"\W", "", words[-1]) if words else ""
    if last.casefold() in _ORG_TYPE_WORDS or (len(words) == 1 and len(last) > 1 and last.isupper()):
        return "typed"
    return "other"


# -- body: headings, paragraphs, citations --------------------------------------------------------------

# "1. Title", "5.1 Title", "5.1.19 Text" (a single number needs its dot: "26 January 2018" is not numbered).
_NUMBERED = re.compile(r"^(?P<number>\d+(?:\.\d+)+|\d+(?=\.))\.?\s+(?P<rest>\S.*)$")
_CITATION = re.compile(
    r"\brecommendations?\s+(?P<refs>\d+(?:\.\d+)+(?:\s*(?:,|&|\band\b)\s*\d+(?:\.\d+)+)*)", re.IGNORECASE
)
_REF = re.compile(r"\d+(?:\.\d+)+")
# Words a title does not end with, but a hard-wrapped line often does.
_FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with"}
)


@dataclass(frozen=True)
class _RawCitation:
    ref: str
    paragraph: str | None
    section: str | None
    line: int


@dataclass
class _Body:
    headings: dict[str, str] = field(default_factory=dict)  # heading number -> title
    section: str | None = None  # the latest heading's title
    paragraph: str | None = None  # the latest numbered paragraph
    paragraph_section: str | None = None
    citations: list[_RawCitation] = field(default_factory=list)


def _read_body(lines: Sequence[_Line], contents: dict[int, str]) -> _Body:
    """Follow headings and numbered paragraphs, collecting every citation in the order met.

    A paragraph's section is the heading whose number is its longest prefix
    ("5.1.19" -> "5.1 Leadership and management", "1.2" -> "1. Early help"), so
    a "5. Management" heading with "5.1 ..." subheadings hands its paragraphs
    to the subsections. Without such a heading, the latest heading is used.
    A citation on a line that is not a numbered paragraph (a citation alone
    on its line, a bullet) cites the latest numbered paragraph. Citations are
    looked for in runs of lines, so a hard-wrapped "[Recommendation\n4.8.](#)"
    still counts.
    """
    body = _Body()
    listed = _listed_headings(contents.values())
    body.headings.update(listed)
    for segment in _segments(lines, contents):
        numbered = _NUMBERED.match(segment[0].text)
        if numbered:
            _read_numbered(body, numbered["number"], numbered["rest"], listed, segment[1:2])
        starts = list(accumulate((len(line.text) + 1 for line in segment[:-1]), initial=0))
        joined = " ".join(line.text for line in segment)
        for match in _CITATION.finditer(joined):
            line = segment[bisect_right(starts, match.start()) - 1].number
            for ref in _REF.findall(match["refs"]):
                body.citations.append(_RawCitation(ref, body.paragraph, body.paragraph_section, line))
    return body


def _segments(lines: Sequence[_Line], contents: dict[int, str]) -> Iterator[list[_Line]]:
    """Runs of non-blank lines outside the contents, each numbered line starting a new run."""
    segment: list[_Line] = []
    for index, line in enumerate(lines):
        if segment and (index in contents or not line.text or _NUMBERED.match(line.text)):
            yield segment
            segment = []
        if index not in contents and line.text:
            segment.append(line)
    if segment:
        yield segment


def _listed_headings(titles: Iterable[str]) -> dict[str, str]:
    listed = {}
    for title in titles:
        numbered = _NUMBERED.match(title)
        if numbered and _heading_like(numbered["rest"]):
            listed[numbered["number"]] = numbered["rest"]
    return listed


def _read_numbered(body: _Body, number: str, rest: str, listed: dict[str, str], after: list[_Line]) -> None:
    listed_heading = listed.get(number, "").casefold() == rest.casefold()
    next_paragraph = _is_next_sibling(body.paragraph, number)
    if listed_heading or (not next_paragraph and _numbered_heading(rest, after)):
        body.headings[number] = rest
        body.section = rest
    elif "." in number:
        body.paragraph = number
        body.paragraph_section = _section_of(number, body)


def _is_next_sibling(previous: str | None, number: str) -> bool:
    """A number such as 3.5 straight after paragraph 3.4 is a paragraph too, however short its first line."""
    if previous is None:
        return False
    *parent, last = previous.split(".")
    return number == ".".join([*parent, str(int(last) + 1)])


def _numbered_heading(rest: str, after: list[_Line]) -> bool:
    """Is "N.M <rest>" a heading? ``after`` is the line that follows it without a blank, if any.

    A heading stands alone; with a line straight after it, it must still
    look finished, unlike the first line of a hard-wrapped paragraph ("1.2
    For example, the unit at Dewsbury and" / "District Hospital uses ...").
    """
    if not _heading_like(rest):
        return False
    if not after:
        return True
    last_word = rest.split()[-1].casefold()
    return after[0].text[:1].isupper() and "," not in rest and last_word not in _FUNCTION_WORDS


def _section_of(paragraph: str, body: _Body) -> str | None:
    parts = paragraph.split(".")
    for length in range(len(parts) - 1, 0, -1):
        title = body.headings.get(".".join(parts[:length]))
        if title:
            return title
    return body.section


# -- the Recommendations section ------------------------------------------------------------------------

_RECOMMENDATIONS_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?recommendations:?$", re.IGNORECASE)
_GROUP = re.compile(r"^(?P<number>\d+)[.)]?\s+(?P<owners>\D.*?)\s*,?\s+should\s*:?$", re.IGNORECASE)
_ITEM = re.compile(r"^(?P<group>\d+)\.(?P<item>\d+)[.)]?\s+(?P<text>\S.*)$")

_EXPECTED_GROUPS = "numbered groups '1. <organisation> should:' each followed by items '1.1 <text>'"


def _find_recommendations_heading(lines: Sequence[_Line], contents: dict[int, str]) -> int:
    """Index of the "Recommendations" heading: the last one that has an owner group after it."""
    headings = [
        index
        for index, line in enumerate(lines)
        if index not in contents and _RECOMMENDATIONS_HEADING.match(line.text)
    ]
    if not headings:
        raise NotAReport(
            f"no 'Recommendations' section found (read {len(lines)} lines): expected a line "
            f"'Recommendations' followed by {_EXPECTED_GROUPS}",
            len(lines) or 1,
        )
    for position in range(len(headings) - 1, -1, -1):
        stop = headings[position + 1] if position + 1 < len(headings) else len(lines)
        following = lines[headings[position] + 1 : stop]
        if any(_GROUP.match(line.text) or _ITEM.match(line.text) for line in following):
            return headings[position]
    last = lines[headings[-1]]
    raise NotAReport(
        f"line {last.number}: 'Recommendations' is not followed by {_EXPECTED_GROUPS} "
        f"(read to line {len(lines)})",
        last.number,
    )


@dataclass
class _Item:
    ref: str
    text: str
    owners: list[str]
    line: int


@dataclass
class _RecommendationsReader:
    """Reads owner groups and their items, warning about numbering as it goes."""

    known_names: list[str]
    groups: list[OwnerGroup] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    group_items: int = 0
    last_item: int = 0
    last_item_of: dict[int, int] = field(default_factory=dict)  # group number -> its last item number
    group_numbers: set[int] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    previous: str = "blank"  # what the previous line was: blank, group, item or other

    def read(self, lines: Sequence[_Line]) -> None:
        index = 0
        while index < len(lines):
            if not lines[index].text:
                self.previous, index = "blank", index + 1
                continue
            consumed = self._read_line(lines, index)
            if consumed == 0:
                break
            index += consumed
        self._close_group()

    def _read_line(self, lines: Sequence[_Line], index: int) -> int:
        """Read ``lines[index]`` (and perhaps the next); return how many lines were used, 0 to stop."""
        line = lines[index]
        group, item = _GROUP.match(line.text), _ITEM.match(line.text)
        if group:
            self._start_group(int(group["number"]), group["owners"], line.number)
        elif item:
            self._add_item(item, line)
        elif wrapped := _wrapped_group(lines, index):
            joined, consumed = wrapped
            self._start_group(int(joined["number"]), joined["owners"], line.number)
            return consumed
        elif self.previous == "item" and not self._ends_section(line):
            self.items[-1].text = f"{self.items[-1].text} {line.text}"
        elif self.groups and self.previous in ("blank", "item") and _heading_like(line.text):
            return 0
        else:
            self._unrecognised(line)
        return 1

    def _ends_section(self, line: _Line) -> bool:
        """A short heading-like line right after a finished sentence is a heading, not a wrapped item."""
        return self.items[-1].text.endswith((".", "!", "?")) and _heading_like(line.text)

    def _unrecognised(self, line: _Line) -> None:
        if self.groups:
            self._warn("unrecognised_line", f"ignored '{_excerpt(line.text)}'", line.number)
        self.previous = "other"

    def _start_group(self, number: int, owner_phrase: str, line: int) -> None:
        self._close_group()
        owners, certain = split_organisations(owner_phrase, self.known_names)
        if not certain:
            self._warn("uncertain_owner_split", f"read the owners '{owner_phrase}' as {owners}", line)
        expected = self.groups[-1].number + 1 if self.groups else 1
        self._check_number(number in self.group_numbers, number, expected, f"owner group {number}", line)
        self.group_numbers.add(number)
        self.groups.append(OwnerGroup(number=number, owner_names=owners, line=line))
        self.group_items, self.last_item, self.previous = 0, self.last_item_of.get(number, 0), "group"

    def _add_item(self, item: re.Match[str], line: _Line) -> None:
        if not self.groups:
            raise NotAReport(
                f"line {line.number}: recommendation item '{_excerpt(line.text)}' outside any owner group: "
                f"expected a heading '{item['group']}. <organisation> should:' before it",
                line.number,
            )
        group, number = self.groups[-1], int(item["item"])
        ref = f"{int(item['group'])}.{number}"
        if int(item["group"]) != group.number:
            self._warn(
                "numbering_mismatch", f"recommendation {ref} is in owner group {group.number}", line.number
            )
        repeated = ref in self.refs
        self.refs.add(ref)
        self._check_number(repeated, number, self.last_item + 1, f"recommendation {ref}", line.number)
        self.items.append(_Item(ref, item["text"], list(group.owner_names), line.number))
        self.group_items += 1
        self.last_item, self.previous = number, "item"
        self.last_item_of[group.number] = number

    def _check_number(self, repeated: bool, number: int, expected: int, label: str, line: int) -> None:
        if repeated:
            self._warn("numbering_repeat", f"{label} appears more than once", line)
        elif number != expected:
            self._warn("numbering_gap", f"{label} where number {expected} was expected", line)

    def _close_group(self) -> None:
        if self.groups and self.group_items == 0:
            group = self.groups[-1]
            self._warn("empty_group", f"owner group {group.number} has no recommendations", group.line)

    def _warn(self, code: str, message: str, line: int) -> None:
        self.warnings.append(ParseWarning(code, f"line {line}: {message}", line))


def _wrapped_group(lines: Sequence[_Line], index: int, limit: int = 6) -> tuple[re.Match[str], int] | None:
    """An owner-group heading wrapped over up to ``limit`` lines, and how many lines it takes."""
    if not re.match(r"\d+[.)]?\s", lines[index].text):
        return None
    text = lines[index].text
    for offset in range(1, min(limit, len(lines) - index)):
        following = lines[index + offset].text
        if not following or _ITEM.match(following) or _GROUP.match(following):
            return None
        text = f"{text} {following}"
        if match := _GROUP.match(text):
            return match, offset + 1
    return None


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# -- the action-plan clause -----------------------------------------------------------------------------

_ACTION_PLAN_PATTERNS = (
    # "An action plan ... is required from A and B, within 20 working days of receipt ..."
    re.compile(
        r"\baction plan\b[^.]*?\brequired from\s+(?P<orgs>.+?)\s*,?\s*"
        r"\bwithin\s+(?P<days>\d+)\s+working\s+days",
        re.IGNORECASE,
    ),
    # "An action plan is required within 20 working days of receipt of this report from A and B."
    re.compile(
        r"\baction plan\b[^.]*?\bwithin\s+(?P<days>\d+)\s+working\s+days\b[^.]*?"
        r"\bfrom\s+(?P<orgs>[^.]+?)\s*(?:\.|$)",
        re.IGNORECASE,
    ),
)


def _paragraphs(lines: Sequence[_Line]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each run of non-blank lines."""
    start, run = 0, []
    for line in lines:
        if line.text:
            start = start if run else line.number
            run.append(line.text)
        elif run:
            yield start, " ".join(run)
            run = []
    if run:
        yield start, " ".join(run)


# How far past "action plan" the clause may run. The patterns' lazy parts read on to the end of
# the text from every "action plan" they start at; within this window, each start reads a
# bounded stretch, so a paragraph of "action plan action plan ..." costs time linear in it.
CLAUSE_WINDOW = 600
_ACTION_PLAN = re.compile(r"\baction plan\b", re.IGNORECASE)


def _action_plan(lines: Sequence[_Line], known_names: list[str]) -> ActionPlanClause | None:
    for line_number, text in _paragraphs(lines):
        for pattern in _ACTION_PLAN_PATTERNS:
            match = next(
                (
                    found
                    for start in _ACTION_PLAN.finditer(text)
                    if (found := pattern.match(text, start.start(), start.start() + CLAUSE_WINDOW))
                ),
                None,
            )
            if match:
                organisations, _ = split_organisations(match["orgs"], known_names)
                return ActionPlanClause(int(match["days"]), organisations, line_number)
    return None


# -- putting it together --------------------------------------------------------------------------------


def parse_report(text: str, known_organisations: Iterable[str] = ()) -> ReportPreview:
    """Parse a report's plain text; raise :class:`NotAReport` when it does not have a report's shape.

    ``known_organisations`` are names (for instance from the database) that
    help split owner lists, in addition to those listed in the front matter.
    """
    lines = _split_lines(text)
    title = _title(lines)
    contents = _contents_lines(lines)
    heading = _find_recommendations_heading(lines, contents)
    front = _read_front_matter(_front_matter_lines(lines[:heading], contents))
    known = [*front.organisation_names, *known_organisations]
    reader = _RecommendationsReader(known_names=known)
    reader.read(lines[heading + 1 :])
    body = _read_body(lines[:heading], contents)
    recommendations, unknown, citation_warnings = _attach_citations(reader.items, body.citations)
    action_plan = _action_plan(lines[heading + 1 :], known) or _action_plan(lines[:heading], known)
    review_dates = _dates_in(_front_field(front, _REVIEW_KEY) or "")
    published = _dates_in(_front_field(front, _PUBLISHED_KEY) or "")
    warnings = reader.warnings + citation_warnings + _report_warnings(action_plan, review_dates, published)
    return ReportPreview(
        title=title,
        area=_area(front, title),
        review_start_date=review_dates[0] if review_dates else None,
        review_end_date=review_dates[-1] if review_dates else None,
        published_date=published[0] if published else None,
        action_plan=action_plan,
        groups=reader.groups,
        recommendations=recommendations,
        citations_of_unknown=unknown,
        warnings=sorted(warnings, key=lambda warning: warning.line or 0),
    )


def _title(lines: Sequence[_Line]) -> str:
    """The first line, joined with the next ones while it is visibly hard-wrapped mid-phrase."""
    start = next((index for index, line in enumerate(lines) if line.text), None)
    if start is None:
        raise NotAReport("empty text: expected a report title on the first line", 1)
    title = lines[start].text
    for line in lines[start + 1 : start + 4]:
        ends_mid_phrase = title.split()[-1].casefold() in _FUNCTION_WORDS
        if not line.text or _FIELD.match(line.text) or not (ends_mid_phrase or line.text[0].islower()):
            break
        title = f"{title} {line.text}"
    return title


def _front_matter_lines(lines: Sequence[_Line], contents: dict[int, str]) -> list[_Line]:
    """The lines before the contents list or the first numbered heading or paragraph."""
    for index, line in enumerate(lines):
        if index in contents or _NUMBERED.match(line.text):
            return list(lines[:index])
    return list(lines)


def _attach_citations(
    items: Sequence[_Item], citations: Sequence[_RawCitation]
) -> tuple[list[ParsedRecommendation], list[UnknownCitation], list[ParseWarning]]:
    by_ref: dict[str, list[Citation]] = {}
    paragraphs_of: dict[str, set[str | None]] = {}
    for item in items:
        by_ref.setdefault(item.ref, [])
        paragraphs_of.setdefault(item.ref, set())
    unknown: list[UnknownCitation] = []
    warnings: list[ParseWarning] = []
    for raw in citations:
        citation = Citation(raw.paragraph, raw.section, raw.line)
        if raw.paragraph is None:
            message = f"line {raw.line}: recommendation {raw.ref} is cited before any numbered paragraph"
            warnings.append(ParseWarning("citation_outside_paragraph", message, raw.line))
        if raw.ref not in by_ref:
            unknown.append(UnknownCitation(raw.ref, raw.paragraph, raw.section, raw.line))
            message = f"line {raw.line}: cites recommendation {raw.ref}, which the report does not make"
            warnings.append(ParseWarning("unknown_citation", message, raw.line))
        elif raw.paragraph not in paragraphs_of[raw.ref] or raw.paragraph is None:
            by_ref[raw.ref].append(citation)
            paragraphs_of[raw.ref].add(raw.paragraph)
    return [_recommendation(item, by_ref[item.ref], warnings) for item in items], unknown, warnings


def _recommendation(
    item: _Item, citations: list[Citation], warnings: list[ParseWarning]
) -> ParsedRecommendation:
    if not citations:
        message = f"line {item.line}: recommendation {item.ref} is not cited by any paragraph"
        warnings.append(ParseWarning("uncited_recommendation", message, item.line))
    section = citations[0].section if citations else None
    return ParsedRecommendation(item.ref, item.text, item.owners, section, list(citations), item.line)


def _report_warnings(
    action_plan: ActionPlanClause | None, review_dates: list[date], published: list[date]
) -> list[ParseWarning]:
    warnings = []
    if action_plan is None:
        warnings.append(
            ParseWarning(
                "no_action_plan_clause",
                "no action-plan clause found: expected 'An action plan ... is required from <organisations>, "
                "within <N> working days of receipt of this report'",
            )
        )
    if not review_dates:
        message = "no 'Date of review: <date> to <date>' field found"
        warnings.append(ParseWarning("missing_review_dates", message))
    if not published:
        message = "no 'Date of publication: <date>' field found"
        warnings.append(ParseWarning("missing_published_date", message))
    return warnings
