"""rectrack import FILE (a PDF or a Word document), run as a person would, against a database of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RECTRACK = str(Path(sys.executable).with_name("rectrack"))


@pytest.fixture(scope="module")
def rectrack(module_database_url):
    env = {**os.environ, "RECTRACK_DATABASE_URL": module_database_url, "RECTRACK_LOG_LEVEL": "warning"}

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run([RECTRACK, *args], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == expect, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result

    run("migrate")
    run.env = env
    return run


def test_import_the_kirklees_pdf_as_the_seed_would(rectrack, report_pdfs, tmp_path):
    pdf = report_pdfs["kirklees"]
    dry = rectrack("import", str(pdf.path), "--dry-run").stdout
    assert "kirklees-clas-2018: would create 25 recommendation(s)" in dry
    assert f"4.8, page {pdf.layout.pages['rec 4.8']}" in dry
    assert f"cited by 5.1.19, page {pdf.layout.pages['cite 5.1.19']}; 5.3.7, page" in dry
    created = json.loads(rectrack("import", str(pdf.path), "--format", "json").stdout)
    assert (created["outcome"], created["written"], created["recommendations"]["created"]) == (
        "created",
        True,
        25,
    )
    assert created["warnings"] == []
    # importing the report's text finds everything already there
    text = Path(__file__).resolve().parents[2] / "seed" / "source" / "kirklees-clas-review-2018.txt"
    assert json.loads(rectrack("import", str(text), "--format", "json").stdout)["outcome"] == "unchanged"
    # a PDF from stdin, told by its content
    again = subprocess.run(
        [RECTRACK, "import", "-", "--format", "json"],
        input=pdf.data,
        capture_output=True,
        env=rectrack.env,
        timeout=300,
    )
    assert json.loads(again.stdout)["outcome"] == "unchanged", again.stderr


def test_unreadable_pdfs_exit_2_with_the_reason(rectrack, report_pdfs, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot really")
    result = rectrack("import", str(broken), expect=2)
    assert "damaged" in result.stderr and result.stdout == ""
    result = subprocess.run(
        [RECTRACK, "import", str(report_pdfs["kirklees"].path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**rectrack.env, "RECTRACK_PDF_MAX_PAGES": "5"},
    )
    assert result.returncode == 2 and "at most 5 are read" in result.stderr


def test_import_the_kirklees_word_document_after_the_pdf_changes_nothing(rectrack, report_pdfs, tmp_path):
    from tests.fixtures.report_docx import kirklees_docx

    rectrack("import", str(report_pdfs["kirklees"].path))  # whatever the order the tests run in
    document = tmp_path / "kirklees.docx"
    document.write_bytes(kirklees_docx())
    answer = json.loads(rectrack("import", str(document), "--format", "json").stdout)
    assert (answer["outcome"], answer["warnings"]) == ("unchanged", [])
    broken = tmp_path / "broken.docx"
    broken.write_bytes(kirklees_docx()[:4000])
    assert "damaged" in rectrack("import", str(broken), expect=2).stderr
