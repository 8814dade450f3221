"""A report as people receive it (its PDF, a Word file, or its text) -> the text the importer parses.

The kind is told by the content, or by a declared media type: "%PDF-" near
the start is a PDF, a zip archive holding word/document.xml a Word document,
anything else must be UTF-8 text. A PDF's text is extracted in a bounded child
process (app.importer.pdf_text), and its layout cleaned out
(app.importer.pdf_layout), keeping each line's page so the preview can say
"4.8, page 38". A Word document's text, with its list numbers as Word shows
them, is read in the same kind of child (app.importer.docx_text).
"""

from dataclasses import dataclass

from sqlmodel import Session

from app.config import Settings
from app.errors import AppError, InvalidInput, ServiceUnavailable
from app.importer.bounded_child import DocumentUnreadable, ExtractionBusy, ReadLimits
from app.importer.docx_text import extract_text, is_docx
from app.importer.pdf_layout import CleanText, clean_pages
from app.importer.pdf_text import extract_pages, is_pdf
from app.schemas.imports import ImportResult
from app.services import importer
from app.services.importer import decode_text

__all__ = ["ReportSource", "import_source", "read_limits", "read_report_source"]


@dataclass(frozen=True)
class ReportSource:
    text: str
    kind: str  # "text", "pdf" or "docx"
    pages: CleanText | None = None  # a PDF's line -> page map

    def page_of(self, line: int | None) -> int | None:
        return self.pages.page_of(line) if self.pages else None


def read_limits(settings: Settings) -> ReadLimits:
    return ReadLimits(max_pages=settings.pdf_max_pages, timeout_seconds=settings.pdf_timeout_seconds)


def read_report_source(data: bytes, *, limits: ReadLimits, declared: str = "text") -> ReportSource:
    """The report's text from the bytes received (``declared``: the kind the sender named, "pdf",
    "docx" or "text"); 422 problems for what cannot be read. Blocks (a PDF or a Word file is read
    in a child process): call it off the event loop."""
    try:
        if declared == "pdf" or is_pdf(data):
            clean = clean_pages(extract_pages(data, limits))
            return ReportSource(text=clean.text, kind="pdf", pages=clean)
        if declared == "docx" or is_docx(data):
            return ReportSource(text=extract_text(data, limits), kind="docx")
    except DocumentUnreadable as problem:
        raise InvalidInput(problem.message, code=problem.code) from None
    except ExtractionBusy as busy:
        error = ServiceUnavailable(str(busy), code="document_reading_busy")
        error.headers = {"Retry-After": "30"}
        raise error from None
    return ReportSource(text=decode_text(data), kind="text")


def import_source(session: Session, *, source: ReportSource, **kwargs) -> ImportResult:
    """Parse the source's text and import it (see ``importer.import_report`` for the keyword arguments);
    for a PDF the preview, warnings and a 'not a report' problem say which page."""
    try:
        preview = importer.parse_text(session, source.text)
    except AppError as error:
        if source.pages is not None:
            page = source.page_of(error.extensions.get("line"))
            where = f" (page {page})" if page else ""
            error.detail = f"The PDF's text{where} is not a report of the known format. {error.detail}"
            error.extensions["page"] = page
        raise
    page_of = source.page_of if source.pages is not None else None
    return importer.import_report(session, preview=preview, page_of=page_of, **kwargs)
