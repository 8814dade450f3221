"""Each page's text from a PDF, read by pypdf in a child process bounded in pages, memory and time.

pypdf is pure Python (nothing to install beside the package) and its layout
mode keeps the vertical gaps between paragraphs as blank lines and table
columns as runs of spaces, which the layout cleaner (pdf_layout) relies on.

A PDF is a program of sorts: compressed streams can expand a thousandfold
and a crafted file can keep a parser busy for minutes. So the reading runs in
a child process (``python -m app.importer.pdf_text``) that limits its own
address space and CPU time, and the parent kills it when the wall-clock bound
passes. A runaway PDF costs one child, never the server. At most
``MAX_CONCURRENT`` children run at once per server process.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from dataclasses import dataclass

__all__ = ["ExtractionBusy", "PdfLimits", "PdfUnreadable", "extract_pages", "is_pdf"]

MAX_CONCURRENT = 2
MAX_MEMORY_BYTES = 1 << 30  # the child's address space
MAX_TEXT_CHARS = 5_000_000  # the text of the whole document
# Fewer letters than this per page on average: no text layer (a scan).
MIN_LETTERS_PER_PAGE = 25

_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)


@dataclass(frozen=True)
class PdfLimits:
    max_pages: int = 300
    timeout_seconds: float = 60.0


class PdfUnreadable(ValueError):
    """The PDF cannot be read as a report's text; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ExtractionBusy(RuntimeError):
    """Every extraction slot stayed taken for as long as one extraction may last."""


def is_pdf(data: bytes) -> bool:
    """PDF readers accept the "%PDF-" header anywhere in the first 1024 bytes; so do we."""
    return b"%PDF-" in data[:1024]


def extract_pages(data: bytes, limits: PdfLimits) -> list[str]:
    """The text of each page, or :class:`PdfUnreadable`. Blocks: call it off the event loop."""
    if not is_pdf(data):
        raise PdfUnreadable("not_a_pdf", "This is not a PDF file: it does not start with '%PDF-'.")
    if not _SLOTS.acquire(timeout=limits.timeout_seconds):
        raise ExtractionBusy("Other PDFs are being read; try again in a minute.")
    try:
        pages = _run_child(data, limits)
    finally:
        _SLOTS.release()
    letters = sum(character.isalpha() for page in pages for character in page)
    if letters < MIN_LETTERS_PER_PAGE * max(1, len(pages)):
        raise PdfUnreadable(
            "pdf_no_text",
            f"This PDF has no text layer ({len(pages)} page(s), {letters} letters of text): it looks "
            "scanned. Run it through OCR software first (for example OCRmyPDF) and import the result.",
        )
    return pages


def _run_child(data: bytes, limits: PdfLimits) -> list[str]:
    command = [sys.executable, "-m", __name__, str(limits.max_pages), str(limits.timeout_seconds)]
    too_slow = PdfUnreadable(
        "pdf_too_complex",
        f"Reading this PDF's text took longer than {limits.timeout_seconds:g} seconds or more than "
        f"{MAX_MEMORY_BYTES >> 20} MB of memory; export the report's text instead, or split the PDF.",
    )
    try:
        completed = subprocess.run(
            command, input=data, capture_output=True, timeout=limits.timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise too_slow from None
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        raise too_slow from None  # killed by its own limits before it could answer
    if "error" in answer:
        raise PdfUnreadable(answer["error"]["code"], answer["error"]["message"])
    return answer["pages"]


# -- the child -------------------------------------------------------------------------------------------


def _limit_self(timeout_seconds: float) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY_BYTES, MAX_MEMORY_BYTES))
    cpu = int(timeout_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _page_text(page) -> str:
    try:
        return page.extract_text(extraction_mode="layout")
    except Exception:  # noqa: BLE001 - layout mode trips on some fonts; plain mode may not
        return page.extract_text()


def read_pages(data: bytes, max_pages: int) -> list[str]:
    """In this process: each page's text, or :class:`PdfUnreadable`."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise PdfUnreadable(
                "encrypted_pdf",
                "This PDF is encrypted and needs a password to open: save an unprotected copy "
                "(or export its text) and import that.",
            )
        count = len(reader.pages)
        if count > max_pages:
            raise PdfUnreadable(
                "pdf_too_many_pages", f"This PDF has {count} pages; at most {max_pages} are read."
            )
        pages, size = [], 0
        for page in reader.pages:
            pages.append(_page_text(page))
            size += len(pages[-1])
            if size > MAX_TEXT_CHARS:
                raise PdfUnreadable(
                    "pdf_too_complex", f"This PDF holds more than {MAX_TEXT_CHARS} characters of text."
                )
        return pages
    except PdfUnreadable:
        raise
    except MemoryError:
        raise PdfUnreadable("pdf_too_complex", "Reading this PDF needed too much memory.") from None
    except (PyPdfError, Exception) as error:  # noqa: BLE001 - a broken file can fail anywhere in pypdf
        raise PdfUnreadable(
            "broken_pdf", f"This PDF is damaged and cannot be read ({type(error).__name__})."
        ) from None


def _opens_without_password(reader) -> bool:
    """Many published PDFs are encrypted only to restrict copying: the empty password opens them."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - an unsupported cipher is as good as a password here
        return False


def main(argv: list[str]) -> int:
    max_pages, timeout_seconds = int(argv[0]), float(argv[1])
    _limit_self(timeout_seconds)
    data = sys.stdin.buffer.read()
    try:
        answer: dict = {"pages": read_pages(data, max_pages)}
    except PdfUnreadable as problem:
        answer = {"error": {"code": problem.code, "message": problem.message}}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
