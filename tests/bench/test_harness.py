"""The benchmark harness works: ``python -m bench`` at a tiny scale, on SQLite, for about a second a scenario.

It measures nothing worth keeping and asserts no timing: it checks that every
scenario produces a row, that reads answer without errors, that written rows
match the 201s answered (the write ceiling's too), and that the report is written
where it is asked to be (never docs/benchmarks.md). Skipped when wrk cannot be installed; run once, in
the SQLite pass of ``make test`` (skipped when ``RECTRACK_TEST_POSTGRES_URL`` is set).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import pytest

from bench.load import EXIT_NO_WRK
from bench.procfs import CpuWatch
from bench.report import HISTORY_MARKER, kept_history
from bench.scenarios import MIX, SCENARIO_KEYS, SCENARIOS, mix_bound, mix_plan
from bench.targets import targets, verdict

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 2  # enough to check that rounds combine, few enough to keep the check short
CONNECTIONS = 4


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory):
    if os.environ.get("RECTRACK_TEST_POSTGRES_URL"):
        pytest.skip("the harness is checked once, in the SQLite pass")
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "benchmarks.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--tiny",
            "--engines",
            "sqlite",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            str(CONNECTIONS),
            "--threads",
            "1",
            "--rounds",
            str(ROUNDS),
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
    if result.returncode == EXIT_NO_WRK:
        pytest.skip("wrk is not installed and could not be installed")
    assert result.returncode == 0, result.stderr[-5000:]
    results = json.loads((folder / "results" / "latest.json").read_text())
    return output.read_text(), results


def test_every_scenario_has_a_row_in_the_table(bench_run):
    markdown, results = bench_run
    (cell,) = results["cells"]
    assert not cell.get("error")
    assert [row["key"] for row in cell["rows"]] == list(SCENARIO_KEYS)
    table_rows = [line for line in markdown.splitlines() if line.startswith("| (")]
    for row in cell["rows"]:
        assert any(line.startswith(f"| {row['title']} |") for line in table_rows), row["title"]
    assert "| read ceiling: bare FastAPI" in markdown
    assert "| write ceiling: minimal FastAPI" in markdown
    assert cell["ceiling"]["requests"] > 0
    assert "**Commit:**" in markdown and "**Machine:**" in markdown and "**Date:**" in markdown


def test_each_scenario_is_compared_with_its_own_ceiling_within_each_round(bench_run):
    _, results = bench_run
    (cell,) = results["cells"]
    rows = {row["key"]: row for row in cell["rows"]}
    for key, ceiling in (("f", cell["write_ceiling"]), ("b", cell["ceiling"]), ("g", rows["b"])):
        name = "vs_b" if key == "g" else "ratio"
        by_round = [one[name] for one in rows[key]["rounds"]]
        assert len(by_round) == len(ceiling["rounds"]) == ROUNDS
        for one, against in zip(rows[key]["rounds"], ceiling["rounds"], strict=True):
            assert one[name] == round(one["rps"] / against["rps"], 3), (key, one, against)
        assert rows[key][name] == pytest.approx(median(by_round), abs=1e-3)


def test_the_report_gives_each_judged_ratio_round_by_round(bench_run):
    markdown, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    (note,) = [line for line in markdown.splitlines() if line.startswith("- by round")]
    g = ", ".join(f"{one['vs_b']:.2f}" for one in rows["g"]["rounds"])
    assert f"(g) {g} × (b)" in note
    assert f"**Rounds:** {ROUNDS}:" in markdown


def test_the_mix_is_compared_with_the_bound_its_parts_give(bench_run):
    markdown, results = bench_run
    rates = {row["key"]: row["rps"] for row in results["cells"][0]["rows"]}
    bound = mix_bound(rates)
    (note,) = [line for line in markdown.splitlines() if line.startswith("- g: its parts alone")]
    assert f"bound the mix at {bound:,.1f} requests/s" in note
    assert f"(g) ran at {rates['g'] / bound:.2f} of the first" in note


def test_the_reads_right_after_writes_are_reported(bench_run):
    markdown, results = bench_run
    after = results["cells"][0]["preflight"]["after_writes"]
    assert after["writes"] > 0
    for case in ("moved", "restated", "again"):
        assert set(after[case]) == {"summary", "report_summary", "overdue_today", "detail"}
        assert all(ms > 0 for ms in after[case].values())
    (note,) = [line for line in markdown.splitlines() if line.startswith("- right after a write")]
    assert f"moves its owner's status, the portfolio summary {after['moved']['summary']:,.1f} ms" in note


def test_the_mix_asks_what_its_composition_says():
    manifest = {"write_targets": [(1, "A"), (2, "B")], "recommendation_ids": [1, 2, 3], "report_ids": [7]}
    plan = mix_plan(manifest, length=30)
    kinds = [
        "f"
        if line.startswith("POST")
        else "d_today"
        if "overdue=true" in line
        else "c"
        if line.endswith("/summary") and "/reports/" in line
        else "b"
        if line.endswith("/summary")
        else "e"
        for line in plan
    ]
    assert kinds == [key for key, count in MIX for _ in range(count)] * 3


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ({"f": 100, "e": 100, "c": 100, "d_today": 100, "b": 100}, 100.0),  # all alike: the same rate
        ({"f": 100, "e": 1000, "c": 1000, "d_today": 1000, "b": 1000}, 1 / (0.1 / 100 + 0.9 / 1000)),
        (
            {"f": 200, "e": 4000, "c": 2000, "d_today": 2000, "b": 1000},
            1 / (0.1 / 200 + 0.4 / 4000 + 0.2 / 2000 + 0.2 / 2000 + 0.1 / 1000),
        ),
        ({"f": 100, "e": 1000, "c": 1000, "d_today": 1000}, None),  # (b) not run
        ({"f": 0, "e": 1000, "c": 1000, "d_today": 1000, "b": 1000}, None),  # nothing written
    ],
)
def test_the_mix_bound_shares_the_machine_by_each_part_s_rate_alone(rates, expected):
    assert mix_bound(rates) == (None if expected is None else pytest.approx(expected))


def test_the_write_ceiling_writes_every_row_it_acknowledges(bench_run):
    _, results = bench_run
    ceiling = results["cells"][0]["write_ceiling"]
    assert ceiling["errors"] == 0, (ceiling["error_kinds"], ceiling["error_samples"])
    assert ceiling["writes"]["acknowledged_201"] > 0
    assert ceiling["writes"]["lost"] == 0, ceiling["writes"]


def test_reads_answer_without_errors(bench_run):
    _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for scenario in SCENARIOS:
        row = rows[scenario.key]
        if scenario.writes or row.get("skipped"):
            continue
        assert row["requests"] > 0, scenario.key
        assert row["errors"] == 0, (scenario.key, row["error_kinds"], row["error_samples"])
    if rows["a"].get("skipped"):
        assert rows["a"]["skipped"].startswith("n/a")


def test_writes_are_counted_and_none_is_lost(bench_run):
    _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for key in ("f", "g"):
        writes = rows[key]["writes"]
        assert writes["acknowledged_201"] > 0, key
        assert writes["lost"] == 0, (key, writes)
        # rows answered after wrk stopped listening: at most one per connection a round
        assert writes["unacknowledged"] <= CONNECTIONS * ROUNDS, (key, writes)


def test_a_rewritten_report_keeps_its_hand_written_history(tmp_path):
    report = tmp_path / "benchmarks.md"
    assert kept_history(report) == ""
    history = f"{HISTORY_MARKER}\n\n## Before and after\n\n| change | before | after |\n"
    report.write_text("# Benchmarks\n\n| old generated table |\n\n" + history)
    assert kept_history(report) == history
    report.write_text("# Benchmarks\n\nno marker: nothing to keep\n")
    assert kept_history(report) == ""


def test_each_scenario_reports_the_api_cpu_it_used(bench_run):
    # SQLite works inside the API, so only the API's CPU is counted; the write scenarios
    # insert rows, which takes CPU whatever the machine.
    _, results = bench_run
    rows = {row["key"]: row for row in results["cells"][0]["rows"]}
    for key in ("f", "g"):
        assert rows[key]["api_cpu_ms"] > 0, key
        assert rows[key]["database_cpu_ms"] is None, key


def test_cpu_of_a_process_tree_counts_its_children():
    spin = "import time\nend = time.process_time() + 2\nwhile time.process_time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        with CpuWatch(os.getpid()) as watch:
            time.sleep(0.5)  # the child spins meanwhile, as a uvicorn worker would serve
    finally:
        child.kill()
        child.wait()
    assert watch.seconds is not None and watch.seconds > 0.05
    assert CpuWatch(None).ms_per(10) is None  # no process to watch: no figure


def _cell(engine_rows: dict, **extra) -> dict:
    return {"rows": [{"key": key, **row} for key, row in engine_rows.items()], **extra}


@pytest.mark.parametrize(
    ("engine", "scale", "key", "rows", "s_rows", "expected"),
    [
        # (a) against the read ceiling, at every scale
        ("sqlite", "S", "a", {"a": {"ratio": 0.5}}, None, "✅ ≥ 0.5 × read ceiling"),
        ("sqlite", "S", "a", {"a": {"ratio": 0.49}}, None, "❌ ≥ 0.5 × read ceiling"),
        # (f): each engine against its own bound
        ("sqlite", "L", "f", {"f": {"ratio": 0.69, "errors": 0, "writes": {"lost": 0}}}, None, "❌"),
        ("postgresql", "L", "f", {"f": {"ratio": 0.69, "errors": 0, "writes": {"lost": 0}}}, None, "✅"),
        ("postgresql", "L", "f", {"f": {"ratio": 0.9, "errors": 1, "writes": {"lost": 0}}}, None, "❌"),
        ("postgresql", "L", "f", {"f": {"ratio": 0.9, "errors": 0, "writes": {"lost": 1}}}, None, "❌"),
        ("sqlite", "S", "f", {"f": {"ratio": 0.1, "errors": 0, "writes": {"lost": 0}}}, None, ""),
        # (e) and (g) against (b): the ratio taken within each round (bench/rounds.py)
        ("sqlite", "L", "e", {"b": {"rps": 100.0}, "e": {"vs_b": 0.8}}, None, "✅ ≥ 0.8 × (b)"),
        ("sqlite", "L", "e", {"b": {"rps": 100.0}, "e": {"vs_b": 0.79}}, None, "❌ ≥ 0.8 × (b)"),
        ("sqlite", "L", "e", {"e": {"rps": 79.0}}, None, "– ≥ 0.8 × (b) (not judged: no (b) run)"),
        (
            "sqlite", "L", "g",
            {"b": {"rps": 100.0}, "g": {"vs_b": 0.6, "p99_ms": 251.0, "errors": 0, "writes": {"lost": 0}}},
            None, "❌",
        ),
        (
            "sqlite", "L", "g",
            {"b": {"rps": 100.0}, "g": {"vs_b": 0.5, "p99_ms": 250.0, "errors": 0, "writes": {"lost": 0}}},
            None, "✅",
        ),
        # (d) against its own S run
        ("sqlite", "L", "d", {"d": {"p50_ms": 12.0}}, {"d": {"p50_ms": 6.0}}, "✅"),
        ("sqlite", "L", "d", {"d": {"p50_ms": 12.1}}, {"d": {"p50_ms": 6.0}}, "❌"),
        ("sqlite", "L", "d", {"d": {"p50_ms": 21.0}}, {"d": {"p50_ms": 20.0}}, "❌"),
        ("sqlite", "L", "d", {"d": {"p50_ms": None}}, {"d": {"p50_ms": 6.0}}, "❌"),
    ],
)  # fmt: skip
def test_targets_are_judged_from_the_data_file(engine, scale, key, rows, s_rows, expected):
    cell = _cell(rows)
    s_cell = _cell(s_rows) if s_rows else None
    row = next(r for r in cell["rows"] if r["key"] == key)
    judged = verdict(engine, scale, key, row, cell, s_cell)
    assert judged == expected if len(expected) > 1 else judged.startswith(expected)


def test_every_target_names_a_scenario_and_known_measures():
    known = {"rps", "p50_ms", "p99_ms", "errors", "lost", "ratio", "vs_b", "p50_vs_S", "peak_rss_mb"}
    for target in targets():
        assert target["scenario"] in {*SCENARIO_KEYS, "memory"}, target
        assert target["checks"] and all(check["measure"] in known for check in target["checks"]), target
