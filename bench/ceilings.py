"""The ceilings: bare FastAPI apps measured by the same wrk, with the same settings, in the same run.

Read: ``ceiling_read.py``, an ``async def`` route answering a constant body as large as that run's
portfolio summary. Write: ``ceiling_write.py``, scenario (f)'s requests answered with one
transaction of five Core statements on the application's own engine, on the same database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import ROOT
from bench.console import log
from bench.databases import count_rows, settled_count
from bench.load import Load, summarise
from bench.processes import HOST, clean_env, free_port, start_process, stop_process, wait_ready
from bench.scenarios import SUMMARY


def _serve(target: str, env: dict, workers: int, log_path: Path, *, factory: bool = False):
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), target,
           "--host", HOST, "--port", str(port), "--workers", str(workers),
           "--no-access-log", "--log-level", "warning"]  # fmt: skip
    process = start_process(
        cmd, env={**clean_env(), **env, "PYTHONUNBUFFERED": "1"}, log_path=log_path, cwd=ROOT
    )
    base = f"http://{HOST}:{port}"
    try:
        wait_ready(process, base + "/readyz", log_path)
    except Exception:
        stop_process(process)
        raise
    return process, base


def read_ceiling(load: Load, body_bytes: int, workers: int, auth: dict, log_path: Path) -> dict:
    process, base = _serve(
        "bench.ceiling_read:app", {"BENCH_CEILING_BYTES": str(body_bytes)}, workers, log_path
    )
    try:
        env = {"BENCH_AUTHORIZATION": auth["Authorization"]} if auth else {}
        result = {**load.measure(base + SUMMARY, "static.lua", env), "body_bytes": body_bytes}
    finally:
        stop_process(process)
    log(f"read ceiling: {result['rps']} req/s for a {body_bytes}-byte body")
    return result


def write_ceiling(load: Load, database_url: str, plan: Path, key: str, workers: int, log_path: Path) -> dict:
    from bench import ceiling_write

    ceiling_write.prepare(database_url, str(plan))
    env = {"BENCH_CEILING_DATABASE_URL": database_url, "BENCH_CEILING_KEY": key}
    process, base = _serve("bench.ceiling_write:app_from_environment", env, workers, log_path, factory=True)
    table = ceiling_write.progress.name
    try:
        wrk_env = {"BENCH_AUTHORIZATION": f"Bearer {key}", "BENCH_PLAN": str(plan), "BENCH_COUNT_STATUS": "1"}
        if load.warmup > 0:
            load.run(base + "/", "plan.lua", wrk_env, duration=load.warmup)
        before = settled_count(database_url, table)
        result = summarise(load.run(base + "/", "plan.lua", wrk_env))
    finally:
        stop_process(process)
    acknowledged = result["counters"].get("created", 0)
    added = count_rows(database_url, table) - before
    result["writes"] = {
        "acknowledged_201": acknowledged,
        "rows_added": added,
        "lost": max(0, acknowledged - added),
        "unacknowledged": max(0, added - acknowledged),
    }
    result["write_rps"] = round(acknowledged / result["duration_s"], 1) if result["duration_s"] else 0.0
    ceiling_write.drop(database_url)
    log(f"write ceiling: {result['write_rps']} writes/s")
    return result
