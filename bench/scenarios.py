"""The scenarios: what each asks, the wrk plan it follows and one request of it for the unloaded probe."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

SUMMARY = "/api/v1/summary"
DEFAULT_AS_OF = "2026-11-01"  # bench/generate.py TODAY: every generated update is before it


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    writes: bool = False
    extra: bool = False  # context for the others, with no target of its own
    ceiling: str = "read"  # the ceiling its ratio is to: "read" or "write"


SCENARIOS = (
    Scenario("a", "(a) conditional poll of the portfolio summary → 304"),
    Scenario("b", "(b) full portfolio summary"),
    Scenario("c", "(c) report summary"),
    Scenario("d", "(d) first 50 overdue recommendations, as of {as_of}"),
    Scenario("d_today", "(d′) the same, as of today (stored statuses)", extra=True),
    Scenario("e", "(e) recommendation detail"),
    Scenario("f", "(f) post a progress update (Idempotency-Key)", writes=True, ceiling="write"),
    Scenario("g", "(g) 90/10 read/write mix", writes=True),
)
SCENARIO_KEYS = tuple(s.key for s in SCENARIOS)


def overdue_path(as_of: str | None) -> str:
    path = "/api/v1/recommendations?overdue=true&sort=days_overdue&limit=50"
    return f"{path}&as_of={as_of}" if as_of else path


def progress_body(code: str) -> bytes:
    """The body every benchmark write posts (wrk's plan.lua sends the same)."""
    body = {"organisation_code": code, "author": "bench", "narrative": "bench", "status": "in_progress"}
    return json.dumps(body).encode()


def progress_path(rec_id: int | str) -> str:
    return f"/api/v1/recommendations/{rec_id}/progress-updates"


# (g)'s requests in every ten, by the scenario that asks the same alone: a progress update, four
# details, two report summaries, two overdue pages and the portfolio summary, all as of today, as a
# dashboard and its users would ask ((d) covers the past date).
MIX = (("f", 1), ("e", 4), ("c", 2), ("d_today", 2), ("b", 1))


def mix_plan(manifest: dict, length: int = 1000) -> list[str]:
    """(g)'s plan: ``MIX`` in every ten requests, in that order."""
    rng = random.Random(7)
    targets, recs, reports = manifest["write_targets"], manifest["recommendation_ids"], manifest["report_ids"]

    def post() -> str:
        rec_id, code = rng.choice(targets)
        return f"POST {rec_id} {code}"

    asks = {
        "f": post,
        "e": lambda: f"GET /api/v1/recommendations/{rng.choice(recs)}",
        "c": lambda: f"GET /api/v1/reports/{rng.choice(reports)}/summary",
        "d_today": lambda: f"GET {overdue_path(None)}",
        "b": lambda: f"GET {SUMMARY}",
    }
    slots = [key for key, count in MIX for _ in range(count)]
    return [asks[slots[i % len(slots)]]() for i in range(length)]


def mix_bound(rates: dict[str, float]) -> float | None:
    """The requests per second of ``MIX`` if its requests took the machine for as long as they do
    alone: ``rates`` are requests per second by scenario key, each measured alone. Every request
    of the mix costs 1 ÷ its scenario's rate of the machine's time, so the mix runs at
    1 ÷ Σ(share ÷ rate). None when a rate is missing or zero."""
    total = sum(count for _, count in MIX)
    if any(not rates.get(key) for key, _ in MIX):
        return None
    return 1 / sum(count / total / rates[key] for key, count in MIX)


def write_plans(folder: Path, manifest: dict) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """wrk's plans (one request a line) for the scenarios that walk many resources."""
    rng = random.Random(11)
    reports = list(manifest["report_ids"])
    recs = list(manifest["recommendation_ids"])
    targets = list(manifest["write_targets"])
    for items in (reports, recs, targets):
        rng.shuffle(items)
    plans = {
        "c": [f"GET /api/v1/reports/{r}/summary" for r in reports],
        "e": [f"GET /api/v1/recommendations/{r}" for r in recs],
        "f": [f"POST {rec_id} {code}" for rec_id, code in targets],
        "g": mix_plan(manifest),
    }
    files = {}
    for key, lines in plans.items():
        files[key] = folder / f"{key}.plan"
        files[key].write_text("\n".join(lines) + "\n")
    return files, plans


def _post_probe(line: str) -> tuple:
    _, rec_id, code = line.split()
    return ("POST", progress_path(rec_id), {"Content-Type": "application/json"}, progress_body(code))


def scenario_spec(key: str, info: dict, plans: dict[str, Path], lines: dict, as_of: str) -> dict:
    """wrk's URL path, script and settings for a scenario, and one request of it for the unloaded probe."""
    if key == "a":
        if not info.get("etag"):
            return {"skip": "n/a (no ETag yet)"}
        if info.get("conditional_status") != 304:
            return {"skip": f"n/a (If-None-Match answered {info.get('conditional_status')}, not 304)"}
        headers = {"If-None-Match": info["etag"]}
        env = {"BENCH_IF_NONE_MATCH": info["etag"], "BENCH_COUNT_STATUS": "1"}
        return {"path": SUMMARY, "script": "static.lua", "env": env,
                "probe": ("GET", SUMMARY, headers, None)}  # fmt: skip
    static = {"b": SUMMARY, "d": overdue_path(as_of), "d_today": overdue_path(None)}
    if key in static:
        return {"path": static[key], "script": "static.lua", "env": {},
                "probe": ("GET", static[key], {}, None)}  # fmt: skip
    count = {"BENCH_COUNT_STATUS": "1"} if key in ("f", "g") else {}
    first = lines[key][0]
    probe = None
    if key in ("c", "e"):
        probe = ("GET", first.split(" ", 1)[1], {}, None)
    elif key == "f":
        probe = _post_probe(first)
    return {
        "path": "/",
        "script": "plan.lua",
        "env": {"BENCH_PLAN": str(plans[key]), **count},
        "probe": probe,
    }
