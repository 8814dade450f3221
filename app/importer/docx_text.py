"""A Word (.docx) report's text, numbered as Word shows it, read in a bounded child process.

Reports and action plans circulate as Word files too. Their recommendation
numbers ("1.", "1.1") are usually Word's automatic list numbering, which is
not in the paragraphs' text: Word draws it from the numbering definitions. So
each numbered paragraph gets the number Word would show, from its list, level,
start values and number formats, and the text reads as the published report
does. A table's row reads as a line, its cells apart by tabs.

A .docx is a zip archive of XML: the archive is checked (entries and their
expanded size) before python-docx opens it, inside the child process that
app.importer.bounded_child bounds.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.importer.bounded_child import (
    MAX_MEMORY_BYTES,
    MAX_TEXT_CHARS,
    DocumentUnreadable,
    ReadLimits,
    read_in_child,
    serve,
)

__all__ = ["extract_text", "is_docx"]

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_ENTRIES = 5_000
MAX_EXPANDED_BYTES = 200 * 1024 * 1024  # the archive's members, expanded
MAX_LEVELS = 9  # Word's list levels, 0 to 8


_ZIP = b"PK\x03\x04"
_NOT_A_DOCX = "This is not a Word document (.docx): it is not a zip archive with word/document.xml."


def is_docx(data: bytes) -> bool:
    """A zip archive holding a Word document's main part."""
    if not data.startswith(_ZIP):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return False


def extract_text(data: bytes, limits: ReadLimits) -> str:
    """The document's text, or :class:`DocumentUnreadable`. Blocks: call it off the event loop."""
    if not data.startswith(_ZIP):  # a damaged archive is the child's to tell
        raise DocumentUnreadable("not_a_docx", _NOT_A_DOCX)
    too_slow = DocumentUnreadable(
        "docx_too_complex",
        f"Reading this Word document took longer than {limits.timeout_seconds:g} seconds or more than "
        f"{MAX_MEMORY_BYTES >> 20} MB of memory; save its text instead and import that.",
    )
    return read_in_child(__name__, data, limits, too_slow=too_slow)["text"]


# -- list numbering (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    number_format: str = "decimal"  # Word's w:numFmt
    text: str = "%1."  # Word's w:lvlText: %1 to %9 stand for the numbers of levels 0 to 8
    start: int = 1


def _letters(n: int) -> str:
    # Word's letter numbering repeats the letter past z: a..z, aa..zz, aaa..
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


def _roman(n: int) -> str:
    numerals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l")]
    numerals += [(40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = []
    for value, numeral in numerals:
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)


def format_number(n: int, number_format: str) -> str:
    match number_format:
        case "lowerLetter":
            return _letters(n)
        case "upperLetter":
            return _letters(n).upper()
        case "lowerRoman":
            return _roman(n)
        case "upperRoman":
            return _roman(n).upper()
        case "decimalZero":
            return f"{n:02d}"
        case "none" | "bullet":
            return ""
        case _:
            return str(n)


@dataclass
class ListNumbering:
    """Counts the paragraphs of Word's lists, and says the number each one shows.

    Paragraphs of lists (w:num) that share a definition (w:abstractNum) continue one
    count, as in Word, unless a list restarts a level (w:startOverride) when it first
    appears. A paragraph at a level restarts every deeper level.
    """

    definitions: dict[str, dict[int, Level]]  # abstractNum id -> level -> Level
    lists: dict[str, tuple[str, dict[int, int]]]  # num id -> (abstractNum id, level -> start override)
    _counts: dict[str, list[int | None]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def number(self, num_id: str, level: int) -> str:
        if num_id not in self.lists or not 0 <= level < MAX_LEVELS:
            return ""
        definition_id, overrides = self.lists[num_id]
        levels = self.definitions.get(definition_id, {})
        counts = self._counts.setdefault(definition_id, [None] * MAX_LEVELS)
        if num_id not in self._seen:
            self._seen.add(num_id)
            for overridden, start in overrides.items():
                counts[overridden] = start - 1
        this = levels.get(level, Level())
        counts[level] = this.start if counts[level] is None else counts[level] + 1
        for deeper in range(level + 1, MAX_LEVELS):
            counts[deeper] = None
        if this.number_format == "bullet":
            return this.text
        shown = this.text
        for k in range(MAX_LEVELS - 1, -1, -1):  # %1 after %10-like tokens cannot occur: 9 levels
            value = counts[k] if counts[k] is not None else levels.get(k, Level()).start
            shown = shown.replace(f"%{k + 1}", format_number(value, levels.get(k, Level()).number_format))
        return shown


# -- the child -------------------------------------------------------------------------------------------


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise DocumentUnreadable(
            "broken_docx", "This Word document is damaged: its archive cannot be read."
        ) from None
    if "word/document.xml" not in {e.filename for e in entries}:
        raise DocumentUnreadable("not_a_docx", _NOT_A_DOCX)
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_EXPANDED_BYTES:
        raise DocumentUnreadable(
            "docx_too_complex",
            f"This Word document expands to more than {MAX_EXPANDED_BYTES >> 20} MB or "
            f"{MAX_ENTRIES} parts; save its text instead and import that.",
        )


_W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}


def _find(element, path: str) -> list:
    from lxml import etree

    return etree.XPath(path, namespaces=_W)(element)


def _attribute(element, path: str) -> str | None:
    found = _find(element, path)
    return str(found[0]) if found else None


def _numbering(document) -> ListNumbering:
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return ListNumbering({}, {})
    definitions: dict[str, dict[int, Level]] = {}
    for abstract in _find(root, "./w:abstractNum"):
        levels = {}
        for lvl in _find(abstract, "./w:lvl"):
            start = _attribute(lvl, "./w:start/@w:val")
            levels[int(_attribute(lvl, "@w:ilvl") or 0)] = Level(
                number_format=_attribute(lvl, "./w:numFmt/@w:val") or "decimal",
                text=_attribute(lvl, "./w:lvlText/@w:val") or "",
                start=int(start) if start and start.lstrip("-").isdigit() else 1,
            )
        definitions[_attribute(abstract, "@w:abstractNumId") or ""] = levels
    lists = {}
    for num in _find(root, "./w:num"):
        overrides = {}
        for override in _find(num, "./w:lvlOverride[w:startOverride]"):
            overrides[int(_attribute(override, "@w:ilvl") or 0)] = int(
                _attribute(override, "./w:startOverride/@w:val") or 1
            )
        lists[_attribute(num, "@w:numId") or ""] = (
            _attribute(num, "./w:abstractNumId/@w:val") or "",
            overrides,
        )
    return ListNumbering(definitions, lists)


def _list_place(paragraph) -> tuple[str, int] | None:
    """The paragraph's list and level: its own, or its style's (or a style it is based on)."""
    candidates = [paragraph._p]
    style = paragraph.style
    while style is not None and len(candidates) < 20:  # a loop of basedOn styles ends here
        candidates.append(style.element)
        style = style.base_style
    for element in candidates:
        num_id = _attribute(element, "./w:pPr/w:numPr/w:numId/@w:val")
        if num_id is not None:
            level = _attribute(element, "./w:pPr/w:numPr/w:ilvl/@w:val")
            return (num_id, int(level) if level and level.isdigit() else 0) if num_id != "0" else None
    return None


def _lines(document, numbering: ListNumbering) -> Iterator[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def line(paragraph: Paragraph) -> str:
        place = _list_place(paragraph)
        number = numbering.number(*place) if place else ""
        return f"{number} {paragraph.text}" if number else paragraph.text

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield line(block)
        elif isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell is listed once per grid column
                        seen.add(id(cell._tc))
                        cells.append([line(p) for p in cell.paragraphs] or [""])
                # A row reads as a line, its cells apart by tabs ("Date of review:<tab>4 March 2019"),
                # then any further paragraphs of its cells, each on a line.
                yield "\t".join(cell[0] for cell in cells)
                for cell in cells:
                    yield from cell[1:]


def read_text(data: bytes) -> str:
    """In this process: the document's text, or :class:`DocumentUnreadable`."""
    _check_archive(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        numbering = _numbering(document)
        lines, size = [], 0
        for line in _lines(document, numbering):
            lines.append(line)
            size += len(line) + 1
            if size > MAX_TEXT_CHARS:
                raise DocumentUnreadable(
                    "docx_too_complex",
                    f"This Word document holds more than {MAX_TEXT_CHARS} characters of text.",
                )
        return "\n".join(lines) + "\n"
    except DocumentUnreadable:
        raise
    except MemoryError:
        raise DocumentUnreadable(
            "docx_too_complex", "Reading this Word document needed too much memory."
        ) from None
    except Exception as error:  # noqa: BLE001 - a broken file can fail anywhere in python-docx or lxml
        raise DocumentUnreadable(
            "broken_docx", f"This Word document is damaged and cannot be read ({type(error).__name__})."
        ) from None


def _answer(data: bytes, limits: ReadLimits) -> dict:
    return {"text": read_text(data)}


if __name__ == "__main__":
    sys.exit(serve(_answer, sys.argv[1:]))
