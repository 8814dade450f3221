"""Take the page layout out of text extracted from a PDF, keeping where each line came from.

Pure: the input is the text of each page, as an extractor that keeps vertical
gaps gives it (a blank line between paragraphs); the output is one text the
report parser reads, and the page each of its lines came from. Removed:

* running headers and footers: a line in the top or bottom three lines of a
  page that recurs (digits aside) on at least half of the pages, and page
  numbers ("Page 37 of 40", "37", "- 37 -", "37/40") at the top or bottom;
* footnotes: lines at the foot of a page that start with a superscript number;
* ligatures (ﬁ, ﬂ, ...), non-breaking, thin and zero-width spaces, soft hyphens;
* words hyphenated across lines, the hyphen kept only where the document
  writes the word with one elsewhere ("looked-\\nafter" -> "looked-after",
  "arrange-\\nments" -> "arrangements");
* page breaks inside a paragraph: a page whose text stops mid-sentence, or
  whose successor starts in lower case, runs on without a blank line;
* the spacing an extractor puts into citations drawn as links ("Recommendation
  4. 8" -> "Recommendation 4.8").

The first line of the first page is never taken for a running header: a cover
may repeat the title that later pages carry as their header.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CleanText", "clean_pages"]

BAND = 3  # lines at the top and at the bottom of a page where headers and footers live
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st"}
    | {"\ufb06": "st"}
)
_SPACES = str.maketrans({c: " " for c in "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2004\u2005\u2006\t"})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Everything str.splitlines() breaks at, besides "\n": the parser numbers lines that way.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SOFT_HYPHEN_BREAK = re.compile("\u00ad *\n *")
_RUNS_OF_SPACES = re.compile(r" {2,}")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-\u2013\u2014]\s*\d{1,4}\s*[-\u2013\u2014]$", re.I
)
_FOOTNOTE_MARKS = "\u00b9\u00b2\u00b3\u2070\u2074\u2075\u2076\u2077\u2078\u2079"
_FOOTNOTE = re.compile(f"^[{_FOOTNOTE_MARKS}]+\\s*\\S")
_HYPHENATED_END = re.compile(r"(?P<head>[^\W\d_][\w'-]*?[^\W\d_])-$")
_CONTINUATION = re.compile(r"^(?P<tail>[a-z][\w'-]*?)(?P<punctuation>[^\w\s]*)(?=\s|$)(?P<rest>.*)$")
_WORDS = re.compile(r"[^\W\d_][\w'-]*[^\W\d_]")
_SENTENCE_END = (".", "!", "?", ":", ";", "\u201d", '"', ")")
_CITATION_SPACING = re.compile(r"\b(recommendations?)\s+(\d+)\s*\.\s*(?=\d)", re.I)


@dataclass(frozen=True)
class CleanText:
    """The text for the parser, and the page (1-based) of each of its lines."""

    text: str
    line_pages: tuple[int, ...]

    def page_of(self, line: int | None) -> int | None:
        """The page of a 1-based line number, as the parser counts lines."""
        if line is None or not 1 <= line <= len(self.line_pages):
            return None
        return self.line_pages[line - 1]


def clean_pages(pages: Sequence[str]) -> CleanText:
    """Join the pages' text into one, without their layout (see the module's docstring)."""
    split = [_page_lines(page) for page in pages]
    running = _running_lines(split)
    kept = [_strip_page(lines, running, first=number == 0) for number, lines in enumerate(split)]
    vocabulary = _vocabulary(kept)
    numbered: list[tuple[str, int]] = []  # (line, page)
    for number, page in enumerate(kept, start=1):
        if page and numbered and not _runs_on(numbered[-1][0], page[0]):
            numbered.append(("", numbered[-1][1]))
        numbered.extend((line, number) for line in page)
    numbered = _join_hyphenated(numbered, vocabulary)
    text = "\n".join(_CITATION_SPACING.sub(r"\1 \2.", line) for line, _ in numbered)
    line_pages = [page for _, page in numbered]
    return CleanText(text, tuple(line_pages))


def _normalise(text: str) -> str:
    text = _LINE_BREAKS.sub("\n", text)
    text = _SOFT_HYPHEN_BREAK.sub("", text).replace("\u00ad", "")
    text = _INVISIBLE.sub("", text.translate(_LIGATURES).translate(_SPACES))
    return text


def _page_lines(page: str) -> list[str]:
    """The page's lines, stripped; runs of spaces kept as two (columns, leaders); blank lines single."""
    lines: list[str] = []
    for raw in _normalise(page).split("\n"):
        line = _RUNS_OF_SPACES.sub("  ", raw.strip())
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def _band(lines: list[str]) -> list[int]:
    """Indexes of the first and last ``BAND`` non-blank lines."""
    filled = [index for index, line in enumerate(lines) if line]
    return sorted(set(filled[:BAND] + filled[-BAND:]))


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Keys of lines that recur in the top or bottom band of at least half of the pages (two at least)."""
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_key(lines[index]) for index in _band(lines)})
    needed = max(2, (len(pages) + 1) // 2)
    return {key for key, count in counts.items() if count >= needed}


def _strip_page(lines: list[str], running: set[str], *, first: bool) -> list[str]:
    band = set(_band(lines))
    first_line = next((index for index, line in enumerate(lines) if line), None)
    kept = []
    for index, line in enumerate(lines):
        header = index in band and not (first and index == first_line)
        if not (header and (_key(line) in running or _PAGE_NUMBER.match(line))):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    last_gap = max((index for index, line in enumerate(kept) if not line), default=-1)
    if last_gap >= 0 and all(_FOOTNOTE.match(line) for line in kept[last_gap + 1 :]):
        kept = kept[:last_gap]
    while kept and not kept[0]:
        kept.pop(0)
    while kept and not kept[-1]:
        kept.pop()
    return [line for index, line in enumerate(kept) if line or kept[index - 1]]


def _vocabulary(pages: list[list[str]]) -> Counter[str]:
    """How often each word is written whole (not broken at a line end) in the document."""
    words: Counter[str] = Counter()
    for lines in pages:
        for line in lines:
            body = line[:-1] if line.endswith("-") else line
            words.update(word.casefold() for word in _WORDS.findall(body))
    return words


def _join_hyphenated(lines: list[tuple[str, int]], vocabulary: Counter[str]) -> list[tuple[str, int]]:
    """Move the rest of a word hyphenated at a line end up to its first part (a line left empty goes)."""
    joined = list(lines)
    for index in range(len(joined) - 1):
        (line, page), (following, next_page) = joined[index], joined[index + 1]
        end, start = _HYPHENATED_END.search(line), _CONTINUATION.match(following)
        if not end or not start:
            continue
        head, tail = end["head"], start["tail"]
        whole, kept = f"{head}{tail}".casefold(), f"{head}-{tail}".casefold()
        word = f"{head}-{tail}" if vocabulary[kept] > vocabulary[whole] else f"{head}{tail}"
        joined[index] = (line[: end.start()] + word + start["punctuation"], page)
        joined[index + 1] = (start["rest"].strip(), next_page)
    return [(line, page) for index, (line, page) in enumerate(joined) if line or lines[index][0] == ""]


def _runs_on(previous: str, following: str) -> bool:
    """Does the text carry on from one page to the next without a paragraph break?"""
    if not previous or not following:
        return False
    ended = previous.rstrip().rstrip(_FOOTNOTE_MARKS).endswith(_SENTENCE_END)
    return following[0].islower() or not ended
