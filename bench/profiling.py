"""Where the time goes: the benchmark's requests through the real app, under pyinstrument.

    .venv/bin/pip install pyinstrument          # not a project dependency
    .venv/bin/python bench/profiling.py --scale S                 # generates a SQLite portfolio first
    .venv/bin/python bench/profiling.py --url sqlite:///bench/results/work/sqlite-M.db \\
        --manifest bench/results/work/sqlite-M-manifest.json --scenarios d,f

The app is built as in production (``RECTRACK_ENVIRONMENT=production``, an API
key from ``rectrack keys create``) and driven in-process through
``httpx.ASGITransport``, one request at a time. FastAPI runs sync routes and
dependencies in worker threads, which a sampling profiler of the main thread
would not see, so here (and only here) ``anyio.to_thread.run_sync`` runs them
inline: one thread holds the whole request, middleware to SQL. Timings are of
the single-request path (no concurrency, no HTTP parsing); for throughput use
bench/run.py. Per scenario, an HTML profile is written to
``bench/results/profiles/`` and the hottest frames are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[0] = str(ROOT)  # the repository, not bench/: the harness's modules by package

from bench import cell as harness_cell  # noqa: E402
from bench import cli as harness_cli  # noqa: E402
from bench import scenarios as harness  # noqa: E402
from bench.processes import clean_env  # noqa: E402


def requests_for(key: str, manifest: dict, as_of: str, count: int, etag: str | None) -> list[tuple]:
    """(method, path, headers, body) for ``count`` requests of scenario ``key``."""
    recs, reports, targets = manifest["recommendation_ids"], manifest["report_ids"], manifest["write_targets"]
    out = []
    for i in range(count):
        if key == "a":
            out.append(("GET", harness.SUMMARY, {"If-None-Match": etag} if etag else {}, None))
        elif key == "b":
            out.append(("GET", harness.SUMMARY, {}, None))
        elif key == "c":
            out.append(("GET", f"/api/v1/reports/{reports[i % len(reports)]}/summary", {}, None))
        elif key == "d":
            out.append(("GET", harness.overdue_path(as_of), {}, None))
        elif key == "d_today":
            out.append(("GET", harness.overdue_path(None), {}, None))
        elif key == "e":
            out.append(("GET", f"/api/v1/recommendations/{recs[i % len(recs)]}", {}, None))
        elif key in ("f", "g"):
            if key == "g" and i % 10:
                line = harness.mix_plan(manifest, 10)[i % 10]
                out.append(("GET", line.split(" ", 1)[1], {}, None))
                continue
            rec_id, code = targets[i % len(targets)]
            body = {
                "organisation_code": code,
                "author": "bench",
                "narrative": "bench",
                "status": "in_progress",
            }
            headers = {
                "Idempotency-Key": f"profile-{secrets.token_hex(8)}",
                "Content-Type": "application/json",
            }
            out.append(
                ("POST", f"/api/v1/recommendations/{rec_id}/progress-updates", headers, json.dumps(body))
            )
    return out


def hot_spots(session, limit: int = 12) -> tuple[list, list]:
    """(self time by function, total time by app/ function), largest first."""
    self_time: dict[str, float] = defaultdict(float)
    app_total: dict[str, float] = defaultdict(float)

    def walk(frame, on_stack: frozenset) -> None:
        if frame.function.startswith("["):  # pyinstrument's synthetic frames ([self], [await])
            return
        where = f"{frame.function} ({_short(frame.file_path)}:{frame.line_no})"
        # time not spent in real callees; a "[self]" child is this frame's own time
        self_time[where] += frame.time - sum(c.time for c in frame.children if not c.function.startswith("["))
        if frame.file_path and "/app/" in frame.file_path and where not in on_stack:
            app_total[where] += frame.time  # counted once per stack, even when recursive
        for child in frame.children:
            walk(child, on_stack | {where})

    root = session.root_frame()
    if root is not None:
        walk(root, frozenset())
    by_self = sorted(self_time.items(), key=lambda kv: -kv[1])[:limit]
    by_app = sorted(app_total.items(), key=lambda kv: -kv[1])[:limit]
    return by_self, by_app


def _short(path: str | None) -> str:
    if not path:
        return "?"
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def patch_threadpool() -> None:
    import anyio.to_thread

    async def run_sync(func, *args, **_kwargs):
        return func(*args)

    anyio.to_thread.run_sync = run_sync


async def drive(app, requests: list[tuple], auth: dict) -> tuple[float, dict[int, int]]:
    import httpx

    statuses: dict[int, int] = defaultdict(int)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.perf_counter()
        for method, path, headers, body in requests:
            response = await client.request(method, path, headers={**auth, **headers}, content=body)
            statuses[response.status_code] += 1
        return time.perf_counter() - started, dict(statuses)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="S", help="generate a SQLite portfolio of this scale (no --url)")
    parser.add_argument("--url", help="an already generated database (with --manifest)")
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--scenarios", default="b,c,d,d_today,e,f")
    parser.add_argument("--requests", type=int, default=100, help="per scenario (after 5 unprofiled)")
    parser.add_argument("--as-of", default=harness.DEFAULT_AS_OF)
    parser.add_argument("--out", type=Path, default=harness_cli.DEFAULT_RESULTS / "profiles")
    args = parser.parse_args()
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: .venv/bin/pip install pyinstrument", file=sys.stderr)
        return 2

    work = harness_cli.DEFAULT_RESULTS / "work"
    work.mkdir(parents=True, exist_ok=True)
    if args.url:
        if not args.manifest:
            parser.error("--url needs --manifest (written by bench/generate.py)")
        url, manifest = args.url, json.loads(args.manifest.read_text())
    else:
        path = work / f"profile-{args.scale}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        manifest_path = work / f"profile-{args.scale}-manifest.json"
        subprocess.run(
            [sys.executable, str(BENCH / "generate.py"), "--url", url, "--scale", args.scale,
             "--manifest", str(manifest_path)],
            cwd=ROOT, check=True, env=clean_env(),
        )  # fmt: skip
        manifest = json.loads(manifest_path.read_text())

    env = harness_cell.server_env(
        url, argparse.Namespace(workers=1, server_env={}), secrets.token_urlsafe(48), 8000
    )
    key, note = harness_cell.create_key(env, "bench-profile")
    print(f"auth: {note}", file=sys.stderr)
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    for name in [k for k in os.environ if k.startswith("RECTRACK_")]:
        del os.environ[name]
    os.environ.update({k: v for k, v in env.items() if k.startswith("RECTRACK_")})
    os.environ["RECTRACK_LOG_LEVEL"] = "warning"  # the access log would go to this terminal
    patch_threadpool()
    from app.main import create_app

    app = create_app()
    etag = None
    args.out.mkdir(parents=True, exist_ok=True)
    for key_ in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        if key_ == "a":
            import httpx

            async def fetch_etag():
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                    return (await client.get(harness.SUMMARY, headers=auth)).headers.get("etag")

            etag = asyncio.run(fetch_etag())
        warm = requests_for(key_, manifest, args.as_of, 5, etag)
        asyncio.run(drive(app, warm, auth))
        batch = requests_for(key_, manifest, args.as_of, args.requests, etag)
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        elapsed, statuses = asyncio.run(drive(app, batch, auth))
        profiler.stop()
        html = args.out / f"{manifest['scale']}-{key_}.html"
        html.write_text(profiler.output_html())
        by_self, by_app = hot_spots(profiler.last_session)
        per = elapsed / len(batch) * 1000
        print(
            f"\n== {key_}: {len(batch)} requests, {per:.1f} ms each in-process, statuses {statuses} ({html})"
        )
        print("   self time (whole stack):")
        for where, seconds in by_self:
            print(f"   {seconds / elapsed * 100:5.1f}%  {where}")
        print("   total time under app/ functions:")
        for where, seconds in by_app:
            print(f"   {seconds / elapsed * 100:5.1f}%  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
