"""rectrack import, run as a person would, against a database of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seed import KIRKLEES_SOURCE

RECTRACK = str(Path(sys.executable).with_name("rectrack"))

RECOMMENDATIONS = ["Ensure that maternity records are legible.", "Train staff in the new pathway."]


def report_text(area: str, recommendations=RECOMMENDATIONS) -> str:
    """A small report in the CQC review format, owned by one trust and two CCGs."""
    body = [f"1.{n} We found things to improve. [Recommendation 1.{n}](#)\n" for n in range(1, 3)]
    items = [f"1.{n} {text}" for n, text in enumerate(recommendations, 1)]
    return "\n".join(
        [
            f"Review of health services for Children Looked-after and Safeguarding in {area}\n",
            "Date of review: 4 March 2019 to 8 March 2019",
            "Date of publication: 17 May 2019\n",
            "1. Early help\n",
            *body,
            "Recommendations\n",
            "1. The Gamma Hospitals NHS Trust, NHS Delta CCG and NHS Epsilon CCG should:\n",
            *items,
            "\nNext steps\n",
            "An action plan is required from NHS Delta CCG, within 20 working days of receipt of this report.",
        ]
    )


@pytest.fixture(scope="module")
def rectrack(module_database_url):
    """Run the command on a migrated database of this module's own."""
    env = {**os.environ, "RECTRACK_DATABASE_URL": module_database_url, "RECTRACK_LOG_LEVEL": "warning"}

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run([RECTRACK, *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == expect, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result

    run("migrate")
    return run


@pytest.fixture
def write(tmp_path):
    def write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)

    return write


def as_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout)


def test_dry_run_import_and_import_again(rectrack, write):
    path = write("borsetshire.txt", report_text("Borsetshire"))
    dry = as_json(rectrack("import", path, "--dry-run", "--format", "json"))
    assert (dry["outcome"], dry["written"], dry["slug"]) == ("created", False, "borsetshire-clas-2019")
    assert [o["resolution"] for o in dry["preview"]["recommendations"][0]["owners"]] in (
        ["new"] * 3,
        ["matched"] * 3,
    )
    assert as_json(rectrack("import", path, "--dry-run", "--format", "json"))["outcome"] == "created"

    created = rectrack("import", path).stdout
    assert "borsetshire-clas-2019: created report" in created and "2 recommendation(s)" in created
    again = rectrack("import", path).stdout
    assert "already imported" in again and "nothing changed" in again
    assert as_json(rectrack("import", path, "--format", "json"))["outcome"] == "unchanged"


def test_a_dry_run_prints_a_readable_preview(rectrack, write):
    out = rectrack("import", write("felpersham.txt", report_text("Felpersham")), "--dry-run").stdout
    assert out.startswith("Dry run: nothing was written.")
    assert "Recommendations (2):" in out and "[Early help]" in out
    assert "The Gamma Hospitals NHS Trust" in out


def test_an_amended_text_is_reported_then_applied(rectrack, write):
    rectrack("import", write("ambridge.txt", report_text("Ambridge")))
    amended = write("ambridge-2.txt", report_text("Ambridge", [RECOMMENDATIONS[0], "Train all staff."]))
    detected = rectrack("import", amended).stdout
    assert "differs" in detected and "--apply-changes" in detected and "1.2    text_changed" in detected
    applied = as_json(rectrack("import", amended, "--apply-changes", "--format", "json"))
    assert (applied["outcome"], applied["written"]) == ("changes_applied", True)
    assert as_json(rectrack("import", amended, "--format", "json"))["outcome"] == "unchanged"


def test_a_refused_import_exits_1_and_says_why(rectrack, write):
    text = report_text("Loxley").replace("1.2 Train staff", "1.1 Train staff")
    result = rectrack("import", write("loxley.txt", text), expect=1)
    assert "1.1 appears 2 times" in result.stderr and result.stdout == ""
    fixed = as_json(
        rectrack("import", write("loxley-2.txt", report_text("Loxley")), "--dry-run", "--format", "json")
    )
    assert fixed["outcome"] == "created"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Minutes of the board\n\nRecommendations\n\nNone.\n", "Not a report: line 3"),
        (b"Review\n\xff\xfe\n", "not UTF-8: byte 7 (line 2)"),
    ],
)
def test_a_file_that_is_not_a_report_exits_2(rectrack, write, content, message):
    result = rectrack("import", write("notes.txt", content), expect=2)
    assert message in result.stderr


def test_a_missing_file_exits_2(rectrack, tmp_path):
    assert "cannot read" in rectrack("import", str(tmp_path / "absent.txt"), expect=2).stderr


def test_the_real_kirklees_text(rectrack):
    created = as_json(rectrack("import", str(KIRKLEES_SOURCE), "--format", "json"))
    assert (created["outcome"], created["slug"]) == ("created", "kirklees-clas-2018")
    assert created["recommendations"]["created"] == 25
    assert "already imported" in rectrack("import", str(KIRKLEES_SOURCE)).stdout
