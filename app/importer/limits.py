"""Bounds on what the parser is asked to read, checked before it runs.

The body size limit keeps texts under a megabyte, but two parts of the parser
grow faster than the text: splitting an organisation list tries every way of
cutting it (about the cube of its separators), and numbering checks compare
each recommendation with those before it. A few kilobytes of "A, B, C, ...
should:" could hold a worker for minutes. Real reports are far inside these
bounds (Kirklees: 9 owner groups of at most 3 organisations, about 130
numbered lines), so a text beyond them is refused with the line at fault.
"""

import re

MAX_SEPARATORS_PER_LIST = 40  # organisations named in one list, roughly
MAX_LIST_WORK = 250_000  # sum over lists of (separators + 1) ** 3
MAX_LISTS = 1_000
MAX_NUMBERED_LINES = 5_000

# The separators and list sites the parser splits: owner groups ("... should:"), the
# action-plan clause and front-matter organisation fields, each possibly over several lines.
_SEPARATOR = re.compile(r",\s+and\s+|,\s+|\s+and\s+|\s+&\s+", re.IGNORECASE)
_GROUP_END = re.compile(r"\bshould\s*:?$", re.IGNORECASE)
_FIELD = re.compile(r"^[^:<>=\"]{2,100}:")
_ORG_FIELD = re.compile(
    r"^[^:]{0,100}(?:included|provider|commissioner|\bccgs?\b|nhs england|organisation)", re.I
)
_CLAUSE_LISTS = (
    re.compile(r"\baction plan\b.*?\brequired from\b(.*?)\bworking\s+days", re.IGNORECASE),
    re.compile(r"\baction plan\b[^.]*?\bworking\s+days\b([^.]*)", re.IGNORECASE),
)
_NUMBERED = re.compile(r"^\W*\d+\.\d+")
_GROUP_START = re.compile(r"^\W*\d+[.)]?\s")
_WRAPPED_GROUP_LINES = 6


class TextTooComplex(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _paragraphs(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each run of non-blank lines."""
    runs: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if line and runs and runs[-1][0] + len(runs[-1][1]) == number:
            runs[-1][1].append(line)
        elif line:
            runs.append((number, [line]))
    return runs


def _group_heading(lines: list[str], index: int) -> str:
    """The heading ending at ``lines[index]``, with the lines it was wrapped from."""
    start = index
    while (
        not _GROUP_START.match(lines[start])
        and start > max(0, index - _WRAPPED_GROUP_LINES + 1)
        and not _NUMBERED.match(lines[start - 1])
    ):
        start -= 1
    return " ".join(lines[start : index + 1])


def _field_value(lines: list[str], index: int) -> str:
    """A front-matter field's line and the lines continuing it, up to the next field."""
    end = index + 1
    while end < len(lines) and not _FIELD.match(lines[end]):
        end += 1
    return " ".join(lines[index:end])


def _lists(lines: list[str]) -> list[tuple[int, int]]:
    """(line number, separators) of every phrase the parser may split as a list of organisations."""
    found = []
    for first, paragraph in _paragraphs(lines):
        for index, line in enumerate(paragraph):
            if _GROUP_END.search(line):
                found.append((first + index, _group_heading(paragraph, index)))
            elif _FIELD.match(line) and _ORG_FIELD.match(line):
                found.append((first + index, _field_value(paragraph, index)))
        text = " ".join(paragraph)
        found.extend((first, m[1]) for pattern in _CLAUSE_LISTS for m in pattern.finditer(text))
    return [(line, len(_SEPARATOR.findall(phrase))) for line, phrase in found]


def check_text_limits(text: str) -> None:
    """Raise :class:`TextTooComplex` when parsing ``text`` would take unreasonably long."""
    lines = [line.replace("**", "").strip() for line in text.splitlines()]
    numbered = [number for number, line in enumerate(lines, start=1) if _NUMBERED.match(line)]
    if len(numbered) > MAX_NUMBERED_LINES:
        line = numbered[MAX_NUMBERED_LINES]
        raise TextTooComplex(f"more than {MAX_NUMBERED_LINES} numbered lines (line {line})", line)
    lists, work = _lists(lines), 0
    if len(lists) > MAX_LISTS:
        line = lists[MAX_LISTS][0]
        raise TextTooComplex(f"more than {MAX_LISTS} owner groups or organisation lists (line {line})", line)
    for line, separators in lists:
        if separators > MAX_SEPARATORS_PER_LIST:
            message = f"line {line}: a list of more than {MAX_SEPARATORS_PER_LIST} organisations"
            raise TextTooComplex(message, line)
        work += (separators + 1) ** 3
        if work > MAX_LIST_WORK:
            raise TextTooComplex(f"too many long organisation lists (line {line})", line)
