"""Each page's text from a PDF, read by pypdf in a bounded child process (app.importer.bounded_child).

pypdf is pure Python (nothing to install beside the package) and its layout
mode keeps the vertical gaps between paragraphs as blank lines and table
columns as runs of spaces, which the layout cleaner (pdf_layout) relies on.
"""

from __future__ import annotations

import io
import sys

from app.importer.bounded_child import (
    MAX_MEMORY_BYTES,
    MAX_TEXT_CHARS,
    DocumentUnreadable,
    ExtractionBusy,
    ReadLimits,
    read_in_child,
    serve,
)

__all__ = ["DocumentUnreadable", "ExtractionBusy", "ReadLimits", "extract_pages", "is_pdf"]

# Fewer letters than this per page on average: no text layer (a scan).
MIN_LETTERS_PER_PAGE = 25


def is_pdf(data: bytes) -> bool:
    """PDF readers accept the "%PDF-" header anywhere in the first 1024 bytes; so do we."""
    return b"%PDF-" in data[:1024]


def extract_pages(data: bytes, limits: ReadLimits) -> list[str]:
    """The text of each page, or :class:`DocumentUnreadable`. Blocks: call it off the event loop."""
    if not is_pdf(data):
        raise DocumentUnreadable("not_a_pdf", "This is not a PDF file: it does not start with '%PDF-'.")
    too_slow = DocumentUnreadable(
        "pdf_too_complex",
        f"Reading this PDF's text took longer than {limits.timeout_seconds:g} seconds or more than "
        f"{MAX_MEMORY_BYTES >> 20} MB of memory; export the report's text instead, or split the PDF.",
    )
    pages = read_in_child(__name__, data, limits, too_slow=too_slow)["pages"]
    letters = sum(character.isalpha() for page in pages for character in page)
    if letters < MIN_LETTERS_PER_PAGE * max(1, len(pages)):
        raise DocumentUnreadable(
            "pdf_no_text",
            f"This PDF has no text layer ({len(pages)} page(s), {letters} letters of text): it looks "
            "scanned. Run it through OCR software first (for example OCRmyPDF) and import the result.",
        )
    return pages


# -- the child -------------------------------------------------------------------------------------------


def _page_text(page) -> str:
    try:
        return page.extract_text(extraction_mode="layout")
    except Exception:  # noqa: BLE001 - layout mode trips on some fonts; plain mode may not
        return page.extract_text()


def read_pages(data: bytes, max_pages: int) -> list[str]:
    """In this process: each page's text, or :class:`DocumentUnreadable`."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise DocumentUnreadable(
                "encrypted_pdf",
                "This PDF is encrypted and needs a password to open: save an unprotected copy "
                "(or export its text) and import that.",
            )
        count = len(reader.pages)
        if count > max_pages:
            raise DocumentUnreadable(
                "pdf_too_many_pages", f"This PDF has {count} pages; at most {max_pages} are read."
            )
        pages, size = [], 0
        for page in reader.pages:
            pages.append(_page_text(page))
            size += len(pages[-1])
            if size > MAX_TEXT_CHARS:
                raise DocumentUnreadable(
                    "pdf_too_complex", f"This PDF holds more than {MAX_TEXT_CHARS} characters of text."
                )
        return pages
    except DocumentUnreadable:
        raise
    except MemoryError:
        raise DocumentUnreadable("pdf_too_complex", "Reading this PDF needed too much memory.") from None
    except (PyPdfError, Exception) as error:  # noqa: BLE001 - a broken file can fail anywhere in pypdf
        raise DocumentUnreadable(
            "broken_pdf", f"This PDF is damaged and cannot be read ({type(error).__name__})."
        ) from None


def _opens_without_password(reader) -> bool:
    """Many published PDFs are encrypted only to restrict copying: the empty password opens them."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - an unsupported cipher is as good as a password here
        return False


def _answer(data: bytes, limits: ReadLimits) -> dict:
    return {"pages": read_pages(data, limits.max_pages)}


if __name__ == "__main__":
    sys.exit(serve(_answer, sys.argv[1:]))
