"""What a reader waits for right after a write, one request at a time: the answers a dashboard
polls, read after a progress update that moves its owner's status (the summaries' figures move
with it), after one that restates it (they do not), and once more (from memory)."""

from __future__ import annotations

import json
import statistics
import time

from bench.processes import http
from bench.scenarios import SUMMARY, overdue_path, progress_path

WRITES = 15  # status moves measured, and as many restatements
READS = {
    "summary": lambda rec: SUMMARY,
    "report_summary": lambda rec: f"/api/v1/reports/{rec['report_id']}/summary",
    "overdue_today": lambda rec: overdue_path(None),
    "detail": lambda rec: f"/api/v1/recommendations/{rec['id']}",
}
CASES = ("moved", "restated", "again")


def _timed(base: str, path: str, auth: dict) -> tuple[float, bytes]:
    started = time.perf_counter()
    status, _, body = http("GET", base + path, auth)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    return elapsed, body


def _owner_status(detail: bytes, code: str) -> str:
    return next(o["status"] for o in json.loads(detail)["owners"] if o["code"] == code)


def _post(base: str, auth: dict, rec_id: int, code: str, status: str) -> None:
    body = {"organisation_code": code, "author": "bench", "narrative": "bench", "status": status}
    headers = {**auth, "Content-Type": "application/json"}
    answer, _, text = http("POST", base + progress_path(rec_id), headers, json.dumps(body).encode())
    if answer != 201:
        raise RuntimeError(f"POST {progress_path(rec_id)} answered {answer}: {text[:300]!r}")


def after_writes(base: str, auth: dict, targets: list, count: int = WRITES) -> dict:
    """The median ms of each read of ``READS`` in each of ``CASES``, over ``count`` targets:
    (recommendation id, owner code) pairs; each owner is moved to in progress, or back to not
    started if it is in progress already, then restated."""
    times: dict[str, dict[str, list[float]]] = {case: {name: [] for name in READS} for case in CASES}
    for rec_id, code in targets[:count]:
        _, detail = _timed(base, f"/api/v1/recommendations/{rec_id}", auth)
        rec = json.loads(detail)
        status = "not_started" if _owner_status(detail, code) == "in_progress" else "in_progress"
        for case in CASES:
            if case != "again":
                _post(base, auth, rec_id, code, status)
            for name, path in READS.items():
                elapsed, body = _timed(base, path(rec), auth)
                times[case][name].append(elapsed)
                if name == "detail" and _owner_status(body, code) != status:
                    raise RuntimeError(f"recommendation {rec_id}: {code} is not {status} after the write")
    return {
        case: {name: round(statistics.median(values), 1) for name, values in by_read.items()}
        for case, by_read in times.items()
    } | {"writes": count}
