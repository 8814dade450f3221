"""The benchmark harness works: ``bench/run.py`` at a tiny scale, on SQLite, for about a second a scenario.

It measures nothing worth keeping and asserts no timing: it checks that every
scenario produces a row, that reads answer without errors, that written rows
match the 201s answered, and that the report is written where it is asked to be
(never docs/benchmarks.md). Skipped when wrk cannot be installed; run once, in
the SQLite pass of ``make test`` (skipped when ``RECTRACK_TEST_POSTGRES_URL`` is set).
"""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"


def _harness():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory):
    if os.environ.get("RECTRACK_TEST_POSTGRES_URL"):
        pytest.skip("the harness is checked once, in the SQLite pass")
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "benchmarks.md"
    result = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--tiny",
            "--engines",
            "sqlite",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            "4",
            "--threads",
            "1",
            "--output",
            str(output),
            "--results-dir",
            str(folder / "results"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    harness = _harness()
    if result.returncode == harness.EXIT_NO_WRK:
        pytest.skip("wrk is not installed and could not be installed")
    assert result.returncode == 0, result.stderr[-5000:]
    results = json.loads((folder / "results" / "latest.json").read_text())
    return harness, output.read_text(), results


def test_every_scenario_has_a_row_in_the_table(bench_run):
    harness, markdown, results = bench_run
    (cell,) = results["cells"]
    assert not cell.get("error")
    assert [row["key"] for row in cell["rows"]] == list(harness.SCENARIO_KEYS)
    table_rows = [line for line in markdown.splitlines() if line.startswith("| (")]
    for row in cell["rows"]:
        assert any(line.startswith(f"| {row['title']} |") for line in table_rows), row["title"]
    assert "| ceiling: bare FastAPI" in markdown
    assert cell["ceiling"]["requests"] > 0
    assert "**Commit:**" in markdown and "**Machine:**" in markdown and "**Date:**" in markdown


def test_reads_answer_without_errors(bench_run):
    harness, _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for scenario in harness.SCENARIOS:
        row = rows[scenario.key]
        if scenario.writes or row.get("skipped"):
            continue
        assert row["requests"] > 0, scenario.key
        assert row["errors"] == 0, (scenario.key, row["error_kinds"], row["error_samples"])
    if rows["a"].get("skipped"):
        assert rows["a"]["skipped"].startswith("n/a")


def test_writes_are_counted_and_none_is_lost(bench_run):
    _, _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for key in ("f", "g"):
        writes = rows[key]["writes"]
        assert writes["acknowledged_201"] > 0, key
        assert writes["lost"] == 0, (key, writes)
        # rows answered after wrk stopped listening: at most one per connection
        assert writes["unacknowledged"] <= 4, (key, writes)


def test_a_rewritten_report_keeps_its_hand_written_history(tmp_path):
    harness = _harness()
    report = tmp_path / "benchmarks.md"
    assert harness.kept_history(report) == ""
    history = f"{harness.HISTORY_MARKER}\n\n## Before and after\n\n| change | before | after |\n"
    report.write_text("# Benchmarks\n\n| old generated table |\n\n" + history)
    assert harness.kept_history(report) == history
    report.write_text("# Benchmarks\n\nno marker: nothing to keep\n")
    assert harness.kept_history(report) == ""


def test_each_scenario_reports_the_api_cpu_it_used(bench_run):
    # SQLite works inside the API, so only the API's CPU is counted; the write scenarios
    # insert rows, which takes CPU whatever the machine.
    _, _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for key in ("f", "g"):
        assert rows[key]["api_cpu_ms"] > 0, key
        assert rows[key]["database_cpu_ms"] is None, key


def test_cpu_of_a_process_tree_counts_its_children():
    harness = _harness()
    spin = "import time\nend = time.process_time() + 2\nwhile time.process_time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        with harness.CpuWatch(os.getpid()) as watch:
            time.sleep(0.5)  # the child spins meanwhile, as a uvicorn worker would serve
    finally:
        child.kill()
        child.wait()
    assert watch.seconds is not None and watch.seconds > 0.05
    assert harness.CpuWatch(None).ms_per(10) is None  # no process to watch: no figure
