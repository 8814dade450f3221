"""Rounds: every scenario and both ceilings measured several times in turn, and the figures the
report shows from them.

One ten-second run of a scenario moves with the machine: at scale L on two shared CPUs the same
commit's (g) ran at 0.29 to 0.64 × (b) in eight runs within a quarter of an hour, its API CPU
from 0.43 to 0.77 ms a request. A ratio is therefore taken within each round, between runs made
minutes apart, and the report shows the median of the rounds' ratios: a target is judged on the
run in the middle, not on whichever run the machine favoured or spoiled. Rates, latencies and
CPU are the rounds' medians too, but for the first answer's latency, the first round's; errors,
requests and writes are summed over the rounds (a write lost in any round is lost); peak memory
is the highest of any round.
"""

from __future__ import annotations

from statistics import median

# A row's figures by how the rounds combine into one.
MEDIAN = (
    "rps", "p50_ms", "p99_ms", "max_ms", "ratio", "vs_b", "api_cpu_ms", "database_cpu_ms",
    "alone_ms", "write_rps", "bytes_per_response", "duration_s",
)  # fmt: skip
# "first_ms" stays the first round's: the preflight's progress update changes what the summaries
# say only the first time; in later rounds it restates it, and the first answer can come from
# what the preflight's reads left in memory.
SUMMED = ("requests", "errors")
HIGHEST = ("peak_rss_mb",)


def ratios(rows: list[dict], ceiling: dict | None, write_ceiling: dict | None) -> None:
    """Each row's ratio to its ceiling and to (b), all of the same round."""
    b = next((row for row in rows if row["key"] == "b" and not row.get("skipped")), None)
    for row in rows:
        if row.get("skipped"):
            continue
        against = write_ceiling if row.get("ceiling") == "write" else ceiling
        if against and against.get("rps"):
            row["ratio"] = round(row["rps"] / against["rps"], 3)
        if b and b.get("rps"):
            row["vs_b"] = round(row["rps"] / b["rps"], 3)


def _median(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return round(median(present), 3) if present else None


def _sum_counts(dicts: list[dict]) -> dict:
    total: dict = {}
    for counts in dicts:
        for name, value in counts.items():
            total[name] = total.get(name, 0) + value
    return total


def combine_runs(runs: list[dict]) -> dict:
    """One scenario's (or one ceiling's) runs, one a round, as one row."""
    combined = dict(runs[0])  # titles, keys, what does not vary, and "first_ms"
    for name in MEDIAN:
        if any(name in run for run in runs):
            combined[name] = _median([run.get(name) for run in runs])
    for name in SUMMED:
        if any(name in run for run in runs):
            combined[name] = sum(run.get(name) or 0 for run in runs)
    for name in HIGHEST:
        if any(name in run for run in runs):
            combined[name] = max((run.get(name) or 0) for run in runs)
    for name in ("counters", "error_kinds", "writes", "server_5xx"):  # counts by kind
        if any(name in run for run in runs):
            combined[name] = _sum_counts([run.get(name) or {} for run in runs])
    combined["error_samples"] = [s for run in runs for s in run.get("error_samples", [])][:3]
    combined["alone_note"] = next((run["alone_note"] for run in runs if run.get("alone_note")), None)
    restarted = [run["after"] for run in runs if run.get("after", {}).get("restarted")]
    combined["after"] = restarted[0] if restarted else runs[-1].get("after", {})
    combined["rounds"] = [
        {name: run.get(name) for name in ("rps", "ratio", "vs_b", "p99_ms", "api_cpu_ms") if name in run}
        for run in runs
    ]
    return combined


def combine(rounds: list[dict]) -> dict:
    """The cell's rows and ceilings from its rounds (each: rows, ceiling, write_ceiling, peak_rss_mb)."""
    keys = [row["key"] for row in rounds[0]["rows"]]
    rows = []
    for key in keys:
        runs = [row for one in rounds for row in one["rows"] if row["key"] == key]
        measured = [run for run in runs if not run.get("skipped")]
        rows.append(combine_runs(measured) if measured else runs[0])
    combined: dict = {"rows": rows, "peak_rss_mb": max(one.get("peak_rss_mb") or 0 for one in rounds)}
    for name in ("ceiling", "write_ceiling"):
        runs = [one[name] for one in rounds if one.get(name)]
        if runs:
            combined[name] = combine_runs(runs)
    return combined
