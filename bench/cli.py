"""Benchmarks at portfolio scale, side by side with the framework's own ceilings.

    .venv/bin/python -m bench                            # S, M, L on SQLite and PostgreSQL (make bench)
    .venv/bin/python -m bench --scales S --engines sqlite --duration 5s
    .venv/bin/python -m bench --tiny --engines sqlite --output /tmp/b.md   # the harness check

(``bench/run.py`` takes the same arguments.) For each engine and scale: a fresh database is
migrated and filled by ``bench/generate.py``; an admin API key is made with ``rectrack keys
create``; the real server is started as in production (``rectrack serve``, i.e. uvicorn
``app.main:app``, ``RECTRACK_ENVIRONMENT=production``, a secret key, JSON access log); wrk
drives every scenario over loopback with fixed threads, connections and duration while the
server's memory and CPU are watched; then the read and write ceilings (``bench/ceiling_read.py``,
``bench/ceiling_write.py``) are measured by the same wrk with the same settings. All of that
is one round; ``--rounds`` of them (3 by default) are combined by ``bench/rounds.py``. Results go
to ``docs/benchmarks.md`` (``--output``) and, raw, to ``bench/results/``.

PostgreSQL: ``--postgres-url`` (or ``RECTRACK_BENCH_POSTGRES_URL`` /
``RECTRACK_TEST_POSTGRES_URL``) names a server to use, in a schema of its own per
scale that is dropped afterwards; otherwise the PostgreSQL part runs under
``scripts/with-postgres`` (a throwaway cluster, removed afterwards).

Exit status: 0 when every cell ran, 1 when one failed, 77 when wrk is unavailable.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from bench import BENCH, ROOT
from bench.cell import Options, run_cell
from bench.console import log
from bench.databases import postgres_schema, postgres_version, sqlite_database
from bench.load import EXIT_NO_WRK, Load, ensure_wrk, seconds, wrk_version
from bench.processes import clean_env, stop_everything
from bench.report import ENGINE_NAMES, commit, kept_history, machine, render_markdown
from bench.scenarios import DEFAULT_AS_OF, SCENARIO_KEYS

DEFAULT_RESULTS = BENCH / "results"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
SCALE_ORDER = ("tiny", "S", "M", "L")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="S,M,L", help="comma-separated: tiny, S, M, L (default S,M,L)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="the tiny scale only, 2 s runs, no warm-up (checks the harness, measures nothing)",
    )
    parser.add_argument("--duration", type=seconds, help="per scenario (default 10s; 2s with --tiny)")
    parser.add_argument(
        "--warmup", type=seconds, help="before each scenario, not measured (default 2s; 0 with --tiny)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--timeout", type=seconds, default=10.0, help="wrk's per-request timeout (default 10s)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers for the API and the ceiling (default 1)"
    )
    parser.add_argument(
        "--settle", type=seconds, default=15.0,
        help="after a run, how long the API may go on with requests wrk gave up on before it is restarted",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int,
        help="every scenario and ceiling measured this many times in turn, the API started afresh "
        "each round; the report shows the rounds' medians (default 3; 1 with --tiny)",
    )  # fmt: skip
    parser.add_argument("--scenarios", default=",".join(SCENARIO_KEYS), help="subset, e.g. b,d,f")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument(
        "--as-of",
        default=DEFAULT_AS_OF,
        help=f"as_of of (d) (default {DEFAULT_AS_OF}); the mix asks about today",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="RECTRACK_X=V",
        help="an extra setting for the API server (repeatable)",
    )
    parser.add_argument("--postgres-url", help="a PostgreSQL database to use (default: a throwaway cluster)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the markdown report")
    parser.add_argument(
        "--results-dir", type=Path, default=DEFAULT_RESULTS, help="raw JSON, logs and databases"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the generated databases")
    parser.add_argument(
        "--no-install-wrk", action="store_true", help="do not apt-get install wrk when missing"
    )
    parser.add_argument(
        "--results-json", type=Path, help=argparse.SUPPRESS
    )  # the with-postgres child's output
    parser.add_argument("--no-markdown", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.scale_list = ["tiny"] if args.tiny else [s.strip() for s in args.scales.split(",") if s.strip()]
    for scale in args.scale_list:
        if scale not in SCALE_ORDER:
            parser.error(f"unknown scale {scale!r}")
    args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    for engine in args.engine_list:
        if engine not in ENGINE_NAMES:
            parser.error(f"unknown engine {engine!r}")
    if args.duration is None:
        args.duration = 2.0 if args.tiny else 10.0
    if args.warmup is None:
        args.warmup = 0.0 if args.tiny else 2.0
    if args.rounds is None:
        args.rounds = 1 if args.tiny else 3
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("need 1 <= --threads <= --connections")
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for key in args.scenario_list:
        if key not in SCENARIO_KEYS:
            parser.error(f"unknown scenario {key!r}; known: {', '.join(SCENARIO_KEYS)}")
    return args


def _child_argv(args: argparse.Namespace, results_json: Path) -> list[str]:
    argv = [
        "--engines",
        "postgresql",
        "--scales",
        ",".join(args.scale_list),
        "--duration",
        f"{args.duration}s",
        "--warmup",
        f"{args.warmup}s",
        "--connections",
        str(args.connections),
        "--threads",
        str(args.threads),
        "--timeout",
        f"{args.timeout}s",
        "--workers",
        str(args.workers),
        "--settle",
        f"{args.settle}s",
        "--rounds",
        str(args.rounds),
        "--scenarios",
        ",".join(args.scenario_list),
        "--seed",
        str(args.seed),
        "--as-of",
        args.as_of,
        "--results-dir",
        str(args.results_dir),
        "--results-json",
        str(results_json),
        "--no-markdown",
        "--no-install-wrk",
    ]
    for item in args.server_env:
        argv += ["--server-env", item]
    if args.keep_data:
        argv.append("--keep-data")
    return argv


def run_postgres_child(args: argparse.Namespace) -> dict:
    """The PostgreSQL part under scripts/with-postgres: a throwaway cluster, always removed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "postgres.json"
        cmd = [
            str(ROOT / "scripts" / "with-postgres"),
            sys.executable,
            "-m",
            "bench",
            *_child_argv(args, out),
        ]
        env = clean_env()
        log("PostgreSQL: starting a throwaway cluster (scripts/with-postgres)")
        # Its own process group, so that an interrupted run can stop the inner run too: with-postgres
        # waits for it, then stops and removes its cluster. (PostgreSQL itself is daemonised by pg_ctl.)
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        try:
            child.wait()
        finally:
            if child.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(120)
                except subprocess.TimeoutExpired:
                    with suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
                    child.wait(10)
        if out.exists():
            return json.loads(out.read_text())
        return {
            "cells": [
                {
                    "engine": "postgresql",
                    "scale": s,
                    "rows": [],
                    "error": f"scripts/with-postgres run failed (status {child.returncode})",
                }
                for s in args.scale_list
            ]
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk(install=not args.no_install_wrk)
    if not wrk:
        log("wrk is not installed and could not be installed (apt-get install wrk): nothing measured")
        return EXIT_NO_WRK
    args.results_dir.mkdir(parents=True, exist_ok=True)
    load = Load(
        wrk=wrk,
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        warmup=args.warmup,
        timeout=args.timeout,
    )
    postgres_url = (
        args.postgres_url
        or os.environ.get("RECTRACK_BENCH_POSTGRES_URL")
        or os.environ.get("RECTRACK_TEST_POSTGRES_URL")
    )
    options = Options(
        scales=args.scale_list,
        engines=args.engine_list,
        load=load,
        workers=args.workers,
        seed=args.seed,
        as_of=args.as_of,
        results=args.results_dir,
        server_env=dict(item.split("=", 1) for item in args.server_env),
        postgres_url=postgres_url,
        keep_data=args.keep_data,
        settle=args.settle,
        rounds=args.rounds,
        scenarios=args.scenario_list,
    )
    from app.clock import Clock

    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(),
        "commit": commit(args.output),
        "load": {
            "wrk_version": wrk_version(wrk),
            "threads": load.threads,
            "connections": load.connections,
            "duration_s": load.duration,
            "warmup_s": load.warmup,
            "timeout_s": load.timeout,
        },
        "workers": args.workers,
        "rounds": args.rounds,
        "server_env": options.server_env,
        "seed": args.seed,
        "as_of": args.as_of,
        "server_today": Clock().today().isoformat(),
        "cells": [],
    }

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    failed = False
    try:
        for engine in args.engine_list:
            if engine == "postgresql" and not postgres_url:
                child = run_postgres_child(args)
                results["cells"] += child["cells"]
                results["postgres"] = child.get("postgres")
                failed |= any(cell.get("error") for cell in child["cells"])
                continue
            if engine == "postgresql":
                with suppress(Exception):
                    results["postgres"] = postgres_version(postgres_url)
            for scale in args.scale_list:
                cell: dict = {"engine": engine, "scale": scale, "rows": []}
                try:
                    if engine == "sqlite":
                        context = sqlite_database(args.results_dir / "work", scale, args.keep_data)
                    else:
                        context = postgres_schema(postgres_url, scale, args.keep_data)
                    with context as database_url:
                        cell = run_cell(engine, scale, database_url, options)
                except Exception as error:  # one failed cell must not lose the others
                    log(f"{engine}-{scale}: FAILED: {error}")
                    cell["error"] = str(error)
                    failed = True
                results["cells"].append(cell)
    finally:
        stop_everything()

    auths = {cell.get("auth", {}).get("note") for cell in results["cells"] if cell.get("auth")}
    results["auth_summary"] = "; ".join(sorted(a for a in auths if a)) or "not reached"
    order = {
        (e, s): i for i, (e, s) in enumerate((e, s) for e in ("sqlite", "postgresql") for s in SCALE_ORDER)
    }
    results["cells"].sort(key=lambda cell: order.get((cell["engine"], cell["scale"]), 99))

    if args.results_json:
        args.results_json.write_text(json.dumps(results, indent=2))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw_path = args.results_dir / f"bench-{stamp}.json"
    if not args.no_markdown:
        raw_path.write_text(json.dumps(results, indent=2))
        (args.results_dir / "latest.json").write_text(json.dumps(results, indent=2))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        kept = kept_history(args.output)
        args.output.write_text(render_markdown(results) + (f"\n{kept}" if kept else ""))
        log(f"wrote {args.output} and {raw_path}")
    return 1 if failed else 0


def run() -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_everything()
        sys.exit(130)
