"""Rounds combine into the figures the report shows: ratios within each round, then medians;
errors and writes summed; peak memory the highest (``bench/rounds.py``)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.rounds import combine, ratios


def _round(b_rps, g_rps, f_rps, read_ceiling, write_ceiling, **g_extra) -> dict:
    rows = [
        {"key": "b", "ceiling": "read", "rps": b_rps},
        {"key": "f", "ceiling": "write", "rps": f_rps, "writes": {"acknowledged_201": 10, "lost": 0}},
        {"key": "g", "ceiling": "read", "rps": g_rps, **g_extra},
    ]
    one = {"rows": rows, "ceiling": {"rps": read_ceiling}, "write_ceiling": {"rps": write_ceiling}}
    ratios(rows, one["ceiling"], one["write_ceiling"])
    return one


def _rows(combined: dict) -> dict:
    return {row["key"]: row for row in combined["rows"]}


def test_each_ratio_is_taken_within_its_round_against_its_own_ceiling():
    one = _round(b_rps=400.0, g_rps=100.0, f_rps=30.0, read_ceiling=1000.0, write_ceiling=20.0)
    rows = _rows(one)
    assert rows["b"]["ratio"] == 0.4 and rows["g"]["ratio"] == 0.1
    assert rows["f"]["ratio"] == 1.5  # the write ceiling's, not the read ceiling's
    assert rows["g"]["vs_b"] == 0.25 and rows["b"]["vs_b"] == 1.0


def test_the_ratio_shown_is_the_median_of_the_rounds_ratios_not_a_ratio_of_medians():
    # (g) ÷ (b) is 0.6, 0.4 and 0.5 round by round; the medians of the rates give 80 ÷ 200 = 0.4.
    rounds = [
        _round(100.0, 60.0, 10.0, 1000.0, 10.0),
        _round(200.0, 80.0, 10.0, 1000.0, 10.0),
        _round(300.0, 150.0, 10.0, 1000.0, 10.0),
    ]
    g = _rows(combine(rounds))["g"]
    assert g["rps"] == 80.0
    assert g["vs_b"] == 0.5
    assert [one["vs_b"] for one in g["rounds"]] == [0.6, 0.4, 0.5]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("p99_ms", [120.0, 300.0, 90.0], 120.0),  # the middle round's
        ("api_cpu_ms", [0.4, 0.8], 0.6),  # two rounds: halfway
        ("errors", [0, 3, 1], 4),  # an error in any round counts
        ("requests", [10, 20, 30], 60),
        ("peak_rss_mb", [150.0, 210.0, 170.0], 210.0),  # the highest of any round
        ("first_ms", [25.0, 3.0, 3.2], 25.0),  # the first round's: later ones may find it in memory
        ("server_5xx", [{"500": 1}, {}, {"500": 2, "503": 1}], {"500": 3, "503": 1}),
    ],
)
def test_each_figure_combines_as_its_kind_asks(name, values, expected):
    rounds = [_round(100.0, 50.0, 10.0, 1000.0, 10.0, **{name: value}) for value in values]
    assert _rows(combine(rounds))["g"][name] == expected


def test_a_write_lost_in_any_round_is_lost():
    rounds = [_round(100.0, 50.0, 10.0, 1000.0, 10.0) for _ in range(3)]
    rounds[1]["rows"][1]["writes"] = {"acknowledged_201": 12, "lost": 1}
    assert _rows(combine(rounds))["f"]["writes"] == {"acknowledged_201": 32, "lost": 1}


def test_a_scenario_skipped_in_a_round_is_combined_from_the_rounds_that_measured_it():
    measured = _round(100.0, 50.0, 10.0, 1000.0, 10.0)
    skipped = _round(100.0, 50.0, 10.0, 1000.0, 10.0)
    skipped["rows"][2] = {"key": "g", "skipped": "n/a (no ETag yet)"}
    assert _rows(combine([measured, skipped]))["g"]["rounds"] == [{"rps": 50.0, "ratio": 0.05, "vs_b": 0.5}]
    assert _rows(combine([skipped, skipped]))["g"]["skipped"] == "n/a (no ETag yet)"


def test_the_ceilings_and_the_cell_s_peak_combine_too():
    rounds = [_round(100.0, 50.0, 10.0, ceiling, 10.0) for ceiling in (900.0, 1200.0, 1000.0)]
    for one, peak in zip(rounds, (150.0, 190.0, 170.0), strict=True):
        one["peak_rss_mb"] = peak
    combined = combine(rounds)
    assert combined["ceiling"]["rps"] == 1000.0
    assert combined["peak_rss_mb"] == 190.0


@given(st.lists(st.tuples(st.floats(1, 1e4), st.floats(1, 1e4), st.integers(0, 5)), min_size=1, max_size=7))
def test_a_median_lies_within_the_rounds_and_counts_add_up(measured):
    rounds = [_round(b, g, 10.0, 1000.0, 10.0, errors=errors) for b, g, errors in measured]
    g = _rows(combine(rounds))["g"]
    by_round = [one["vs_b"] for one in g["rounds"]]
    assert min(by_round) <= g["vs_b"] <= max(by_round)
    assert min(x[1] for x in measured) - 1e-3 <= g["rps"] <= max(x[1] for x in measured) + 1e-3
    assert g["errors"] == sum(x[2] for x in measured)
