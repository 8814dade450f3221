"""The reading slots: while every slot is taken, a document waits as long as a reading may last, then gets 503."""

import threading

import pytest

from app.errors import AppError
from app.importer import bounded_child
from app.importer.bounded_child import MAX_CONCURRENT, ReadLimits
from app.services import documents
from tests.fixtures.report_docx import borsetshire_docx


@pytest.fixture
def every_slot_taken():
    taken = [bounded_child._SLOTS.acquire(blocking=False) for _ in range(MAX_CONCURRENT)]
    assert all(taken)
    yield
    for _ in taken:
        bounded_child._SLOTS.release()


def test_a_document_waits_then_is_told_to_come_back(every_slot_taken, report_pdfs):
    for data in (report_pdfs["borsetshire"].data, borsetshire_docx()):
        with pytest.raises(AppError) as busy:
            documents.read_report_source(data, limits=ReadLimits(timeout_seconds=0.2))
        assert (busy.value.status, busy.value.code) == (503, "document_reading_busy")
        assert busy.value.headers == {"Retry-After": "30"}


def test_a_slot_freed_while_waiting_is_taken(report_pdfs):
    taken = [bounded_child._SLOTS.acquire(blocking=False) for _ in range(MAX_CONCURRENT)]
    assert all(taken)
    threading.Timer(0.3, bounded_child._SLOTS.release).start()
    try:
        source = documents.read_report_source(borsetshire_docx(), limits=ReadLimits(timeout_seconds=30))
    finally:
        for _ in range(MAX_CONCURRENT - 1):
            bounded_child._SLOTS.release()
    assert source.kind == "docx" and "Borchester General Hospital NHS Trust" in source.text
