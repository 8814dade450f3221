"""One engine × scale: generate the portfolio, start the API, preflight, every scenario, the ceilings."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import BENCH, ROOT
from bench.api_server import ApiServer
from bench.ceilings import read_ceiling, write_ceiling
from bench.console import log
from bench.databases import count_rows, postgres_server_pid, settled_count
from bench.load import Load, summarise
from bench.preflight import preflight, unloaded_ms
from bench.processes import HOST, clean_env, free_port
from bench.procfs import CpuWatch, MemoryWatch
from bench.rounds import combine, ratios
from bench.scenarios import SCENARIO_KEYS, SCENARIOS, SUMMARY, scenario_spec, write_plans


@dataclass
class Options:
    scales: list[str]
    engines: list[str]
    load: Load
    workers: int
    seed: int
    as_of: str
    results: Path
    server_env: dict[str, str]
    postgres_url: str | None
    keep_data: bool
    settle: float = 15.0
    rounds: int = 1
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIO_KEYS))


def server_env(database_url: str, options: Options, secret: str, port: int) -> dict[str, str]:
    env = clean_env()
    env.update(
        RECTRACK_DATABASE_URL=database_url,
        RECTRACK_ENVIRONMENT="production",
        RECTRACK_SECRET_KEY=secret,
        RECTRACK_HOST=HOST,
        RECTRACK_PORT=str(port),
        RECTRACK_WORKERS=str(options.workers),
        RECTRACK_LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
    )
    env.update(options.server_env)
    return env


def generate(database_url: str, scale: str, options: Options, work: Path, tag: str) -> dict:
    manifest_path = work / f"{tag}-manifest.json"
    env = clean_env()
    env.update(RECTRACK_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--url", database_url, "--scale", scale,
         "--seed", str(options.seed), "--manifest", str(manifest_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"generate.py failed ({result.returncode}):\n{result.stderr[-3000:]}")
    manifest = json.loads(manifest_path.read_text())
    manifest["timings"]["wall"] = round(time.perf_counter() - started, 2)
    return manifest


def create_key(env: dict, name: str) -> tuple[str | None, str]:
    """An admin key from ``rectrack keys create``; (None, why) when that command fails."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "keys", "create", "--role", "admin", "--name", name],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    except subprocess.SubprocessError as error:
        return None, f"rectrack keys create failed: {error}"
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode == 0 and lines:
        return lines[-1], "admin key from `rectrack keys create`"
    reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"`rectrack keys create` unavailable (status {result.returncode}: {reason[:160]})"


def _writes(row: dict, before: int, after: int) -> dict:
    acknowledged = row["counters"].get("created", 0)
    added = after - before
    return {
        "acknowledged_201": acknowledged,
        "rows_added": added,
        "lost": max(0, acknowledged - added),  # 201 answered, row missing
        # rows whose 201 wrk never read: in flight when the duration ran out (≤ connections)
        "unacknowledged": max(0, added - acknowledged),
        "posted": row["counters"].get("posted", 0),
    }


def run_cell(engine: str, scale: str, database_url: str, options: Options) -> dict:
    tag = f"{engine}-{scale}"
    work = options.results / "work"
    logs = options.results / "logs"
    work.mkdir(parents=True, exist_ok=True)
    cell: dict = {"engine": engine, "scale": scale, "rows": []}

    cell["loadavg_start"] = round(os.getloadavg()[0], 2)
    log(f"{tag}: generating (1-minute load average {cell['loadavg_start']})")
    manifest = generate(database_url, scale, options, work, tag)
    cell["dataset"] = {
        "counts": manifest["counts"],
        "timings": manifest["timings"],
        "overdue_as_of_generation_day": manifest["overdue_as_of_today"],
        "recommendation_status_mix": manifest["recommendation_status_mix"],
    }
    log(
        f"{tag}: generated in {manifest['timings']['wall']} s "
        f"({manifest['counts']['progress_update']} progress updates)"
    )

    port = free_port()
    env = server_env(database_url, options, secrets.token_urlsafe(48), port)
    key, auth_note = create_key(env, f"bench-{tag}")
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    cell["auth"] = {"on": bool(key), "note": auth_note}
    plans = work / f"{tag}-plans"
    plans.mkdir(exist_ok=True)
    plan_files, plan_lines = write_plans(plans, manifest)

    server = ApiServer(env, port, options.workers, logs / f"{tag}-server.log", database_url)
    database_pid = postgres_server_pid(database_url) if engine == "postgresql" else None
    measured = []
    for number in range(1, options.rounds + 1):
        if options.rounds > 1:
            log(f"{tag}: round {number} of {options.rounds}")
        one = _round(tag, server, database_pid, manifest, plan_files, plan_lines, key, auth, options)
        measured.append(one)
        if number == 1:
            cell["preflight"] = one["preflight"]
            info = one["preflight"]
            if key and info["anonymous_summary_status"] not in (401, 403):
                cell["auth"]["note"] += (
                    f"; but GET {SUMMARY} without a key answered {info['anonymous_summary_status']}"
                )
    cell.update(combine(measured))
    cell["rounds"] = len(measured)
    cell["server_log"] = str(server.log_path)
    cell["server_starts"] = server.starts
    cell["loadavg_end"] = round(os.getloadavg()[0], 2)
    return cell


def _round(
    tag: str, server: ApiServer, database_pid: int | None, manifest: dict, plan_files: dict,
    plan_lines: dict, key: str | None, auth: dict, options: Options,
) -> dict:  # fmt: skip
    """Every scenario asked of a freshly started API, then the two ceilings: one round."""
    logs = options.results / "logs"
    database_url = server.database_url
    one: dict = {"rows": []}
    peak = 0.0
    try:
        server.start()
        info = preflight(server.base, auth, manifest, options.as_of)
        one["preflight"] = info
        wrk_auth = {"BENCH_AUTHORIZATION": auth["Authorization"]} if auth else {}
        for scenario in SCENARIOS:
            if scenario.key not in options.scenarios:
                continue
            row = {
                "key": scenario.key,
                "title": scenario.title.format(as_of=options.as_of),
                "extra": scenario.extra,
                "ceiling": scenario.ceiling,
            }
            spec = scenario_spec(scenario.key, info, plan_files, plan_lines, options.as_of)
            if "skip" in spec:
                row.update(skipped=spec["skip"])
                one["rows"].append(row)
                log(f"{tag}: {scenario.key} skipped: {spec['skip']}")
                continue
            wrk_env = {
                **wrk_auth,
                **spec["env"],
                "BENCH_RUN_ID": f"{tag}-{scenario.key}-{secrets.token_hex(4)}",
            }
            url = server.base + spec["path"]
            row.update(unloaded_ms(server.base, spec.get("probe"), auth))
            if row.get("alone_note"):
                server.restart()  # a request is still running in there
            slow = row.get("alone_ms") is None or row["alone_ms"] > 1000
            if options.load.warmup > 0 and not slow:
                options.load.run(url, spec["script"], wrk_env, duration=options.load.warmup)
                server.settle(options.settle)
            before = count_rows(database_url, "progress_update") if scenario.writes else None
            offset = server.log_offset()
            with (
                MemoryWatch(server.pid) as memory,
                CpuWatch(server.pid) as api_cpu,
                CpuWatch(database_pid) as database_cpu,
            ):
                raw = options.load.run(url, spec["script"], wrk_env)
            row.update(summarise(raw))
            row["peak_rss_mb"] = memory.peak_mb
            row["api_cpu_ms"] = api_cpu.ms_per(row["requests"])
            row["database_cpu_ms"] = database_cpu.ms_per(row["requests"])
            peak = max(peak, memory.peak_mb)
            if scenario.writes:
                row["writes"] = _writes(row, before, settled_count(database_url, "progress_update"))
                acknowledged = row["writes"]["acknowledged_201"]
                row["write_rps"] = round(acknowledged / row["duration_s"], 1) if row["duration_s"] else 0.0
            row["after"] = server.settle(options.settle)
            row["server_5xx"] = server.server_errors_since(offset)  # the log is appended to across restarts
            one["rows"].append(row)
            log(
                f"{tag}: {scenario.key}: {row['rps']} req/s, p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms, errors {row['errors']}, peak {row['peak_rss_mb']} MB, "
                f"alone {row.get('alone_ms')} ms"
                + (" (server restarted after)" if row["after"].get("restarted") else "")
            )
    finally:
        server.stop()
    one["peak_rss_mb"] = peak

    # The ceilings, measured by the same wrk with the same settings, in the same round.
    one["ceiling"] = read_ceiling(
        options.load, info["summary_bytes"], options.workers, auth, logs / f"{tag}-ceiling-read.log"
    )
    if "f" in options.scenarios:
        one["write_ceiling"] = write_ceiling(
            options.load, database_url, plan_files["f"], key or "", options.workers,
            logs / f"{tag}-ceiling-write.log",
        )  # fmt: skip
    ratios(one["rows"], one["ceiling"], one.get("write_ceiling"))
    return one
