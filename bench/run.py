"""Benchmarks at portfolio scale, side by side with the framework's own ceiling.

    .venv/bin/python bench/run.py                       # S, M, L on SQLite and PostgreSQL (make bench)
    .venv/bin/python bench/run.py --scales S --engines sqlite --duration 5s
    .venv/bin/python bench/run.py --tiny --engines sqlite --output /tmp/b.md   # the harness check

For each engine and scale: a fresh database is migrated and filled by
``bench/generate.py``; an admin API key is made with ``rectrack keys create``;
the real server is started as in production (``rectrack serve``, i.e. uvicorn
``app.main:app``, ``RECTRACK_ENVIRONMENT=production``, a secret key, JSON access
log); wrk drives every scenario over loopback with fixed threads, connections
and duration while the server's memory is watched; then ``bench/ceiling.py``
(a bare FastAPI app answering a constant body as large as the portfolio summary)
is measured by the same wrk with the same settings. Results go to
``docs/benchmarks.md`` (``--output``) and, raw, to ``bench/results/``.

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
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_DIR = BENCH / "wrk"
DEFAULT_RESULTS = BENCH / "results"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
HOST = "127.0.0.1"  # loopback only, always
EXIT_NO_WRK = 77
SCALE_ORDER = ("tiny", "S", "M", "L")
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DEFAULT_AS_OF = "2026-11-01"  # bench/generate.py TODAY: every generated update is before it

SUMMARY = "/api/v1/summary"
_started: list[subprocess.Popen] = []  # every process we started and have not reaped yet


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- scenarios ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    writes: bool = False
    extra: bool = False  # not one of the issue's seven: context for them


SCENARIOS = (
    Scenario("a", "(a) conditional poll of the portfolio summary → 304"),
    Scenario("b", "(b) full portfolio summary"),
    Scenario("c", "(c) report summary"),
    Scenario("d", "(d) first 50 overdue recommendations, as of {as_of}"),
    Scenario("d_today", "(d′) the same, as of today (stored statuses)", extra=True),
    Scenario("e", "(e) recommendation detail"),
    Scenario("f", "(f) post a progress update (Idempotency-Key)", writes=True),
    Scenario("g", "(g) 90/10 read/write mix", writes=True),
)
SCENARIO_KEYS = tuple(s.key for s in SCENARIOS)


def overdue_path(as_of: str | None) -> str:
    path = "/api/v1/recommendations?overdue=true&sort=days_overdue&limit=50"
    return f"{path}&as_of={as_of}" if as_of else path


def mix_plan(manifest: dict, length: int = 1000) -> list[str]:
    """(g): per 10 requests, 1 progress update, 4 details, 2 report summaries, 2 overdue pages, 1 summary.

    Everything as of today, as a dashboard and its users would ask; (d) covers the past date.
    """
    rng = random.Random(7)
    targets, recs, reports = manifest["write_targets"], manifest["recommendation_ids"], manifest["report_ids"]
    lines = []
    for i in range(length):
        slot = i % 10
        if slot == 0:
            rec_id, code = rng.choice(targets)
            lines.append(f"POST {rec_id} {code}")
        elif slot <= 4:
            lines.append(f"GET /api/v1/recommendations/{rng.choice(recs)}")
        elif slot <= 6:
            lines.append(f"GET /api/v1/reports/{rng.choice(reports)}/summary")
        elif slot <= 8:
            lines.append(f"GET {overdue_path(None)}")  # a dashboard asks about today
        else:
            lines.append(f"GET {SUMMARY}")
    return lines


# -- targets of the issue's part 5 (reported, never asserted) -----------------------------


def target_verdict(engine: str, scale: str, key: str, row: dict, cell: dict, s_cell: dict | None) -> str:
    """'✅ …' / '❌ …' against the issue's targets, '' where no target applies."""
    if row.get("skipped"):
        return ""
    p50 = row.get("p50_ms")
    if key == "a":
        ratio = row.get("ratio")
        return "" if ratio is None else _mark(ratio >= 0.5, "≥ 50% of ceiling")
    if key in ("b", "c") and scale == "L":
        return _mark(p50 is not None and p50 <= 50, "p50 ≤ 50 ms")
    if key == "d" and scale == "L":
        s_p50 = None
        if s_cell:
            s_p50 = next((r.get("p50_ms") for r in s_cell.get("rows", []) if r["key"] == "d"), None)
        ok = p50 is not None and p50 <= 20 and (s_p50 is None or p50 <= 2 * s_p50)
        return _mark(ok, "p50 ≤ 20 ms and ≤ 2× S" + ("" if s_p50 is not None else " (no S run)"))
    if key == "f":
        floor = 300 if engine == "sqlite" else 500
        writes = row.get("writes") or {}
        ok = (row.get("rps") or 0) >= floor and row.get("errors", 1) == 0 and writes.get("lost", 1) == 0
        return _mark(ok, f"≥ {floor}/s, no errors, none lost")
    return ""


def memory_verdict(scale: str, cell: dict) -> str:
    if scale != "L" or cell.get("peak_rss_mb") is None:
        return ""
    return _mark(cell["peak_rss_mb"] <= 250, "API memory ≤ 250 MB")


def _mark(ok: bool, text: str) -> str:
    return f"{'✅' if ok else '❌'} {text}"


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_process(
    cmd: list[str], *, env: dict, log_path: Path, cwd: Path = ROOT, append: bool = False
) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab" if append else "wb") as out:
        process = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: uvicorn workers are stopped with it
        )
    _started.append(process)
    return process


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM to the process group we created, then SIGKILL if it lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    # Workers that outlived their parent are still in its group.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process in _started:
        _started.remove(process)


def stop_everything() -> None:
    for process in list(_started):
        stop_process(process, timeout=5)


def http(method: str, url: str, headers: dict | None = None, body: bytes | None = None, timeout: float = 30):
    """(status, headers, body) without raising on HTTP errors."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_ready(process: subprocess.Popen, base: str, log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}:\n{tail(log_path)}")
        try:
            status, _, body = http("GET", base + "/readyz", timeout=2)
            if status == 200:
                return
            last = f"{status} {body[:200]!r}"
        except OSError as error:
            last = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"/readyz did not answer 200 within {timeout:.0f} s ({last}):\n{tail(log_path)}")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- memory of the API process tree -------------------------------------------------------


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command's name: [0] state, [1] ppid, [11] utime,
    [12] stime, [13] cutime, [14] cstime. OSError once the process is gone."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat(entry.name)[1])
        except OSError:
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(_children(current))
    return tree


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Peak resident memory of a process tree over a window.

    The kernel's own peak (VmHWM) is reset at the start of the window where
    allowed (``/proc/PID/clear_refs``), and RSS is also sampled every 50 ms;
    the window's peak is the larger of the two (summed over the tree's processes:
    with one worker, that is the one process). psutil is not needed.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.sampled_kb = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryWatch:
        tree = process_tree(self.pid)
        resets = 0
        for pid in tree:
            with suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                resets += 1
        self.hwm_reset = resets == len(tree)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            tree = process_tree(self.pid)
            self.sampled_kb = max(self.sampled_kb, sum(_status_kb(p, "VmRSS") for p in tree))
            self._stop.wait(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.hwm_kb = sum(_status_kb(p, "VmHWM") for p in process_tree(self.pid))

    @property
    def peak_mb(self) -> float:
        return round(max(self.sampled_kb, self.hwm_kb if self.hwm_reset else 0) / 1024, 1)


# -- wrk ------------------------------------------------------------------------------


def ensure_wrk(install: bool) -> str | None:
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    log("wrk is missing: apt-get install -y wrk")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    with suppress(subprocess.SubprocessError, OSError):
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], timeout=600, **quiet).returncode:
            subprocess.run(["apt-get", "update", "-q"], timeout=600, **quiet)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], timeout=600, **quiet)
    return shutil.which("wrk")


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    match = re.search(r"wrk (\S+)", result.stdout + result.stderr)
    return match.group(1) if match else "?"


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 10s, 1m)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


@dataclass
class Load:
    """The fixed load: the same for every scenario and for the ceiling."""

    wrk: str
    threads: int
    connections: int
    duration: float
    warmup: float
    timeout: float

    def run(self, url: str, script: str, env: dict, duration: float | None = None) -> dict:
        duration = self.duration if duration is None else duration
        cmd = [
            self.wrk,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={max(1, round(self.timeout))}s",
            "-s",
            str(WRK_DIR / script),
            url,
        ]
        # A run id of its own for every wrk run: a warm-up and its measured run must not share
        # Idempotency-Keys (the second would be answered from the first's records).
        run_id = f"{env.get('BENCH_RUN_ID', 'run')}-{secrets.token_hex(4)}"
        full_env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), **env, "BENCH_RUN_ID": run_id}
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=full_env,
            cwd=WRK_DIR,
            timeout=duration + self.timeout + 60,
        )
        for line in result.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                return json.loads(line[len("BENCH_JSON ") :])
        raise RuntimeError(
            f"wrk gave no result (status {result.returncode}): {result.stderr or result.stdout}"
        )


def summarise(raw: dict) -> dict:
    duration = raw["duration_us"] / 1e6
    errors = raw["errors"]
    samples = raw.get("error_samples") or {}
    answered = raw["requests"] > 0  # none: every request outlasted the run (they are not errors to wrk)
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / duration, 1) if duration else 0.0,
        "p50_ms": round(raw["latency_us"]["p50"] / 1000, 2) if answered else None,
        "p99_ms": round(raw["latency_us"]["p99"] / 1000, 2) if answered else None,
        "max_ms": round(raw["latency_us"]["max"] / 1000, 2) if answered else None,
        # non-2xx/3xx answers plus socket errors (connect, read, write, timeout)
        "errors": sum(errors.values()),
        "error_kinds": {k: v for k, v in errors.items() if v},
        "error_samples": list(samples.values()) if isinstance(samples, dict) else list(samples),
        "counters": raw.get("counters", {}),
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else 0,
        "duration_s": round(duration, 2),
    }


# -- databases -----------------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    sys.path.insert(0, str(ROOT))
    from app.db.engine import normalise_database_url

    return normalise_database_url(url)


def count_rows(url: str, table: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    finally:
        engine.dispose()


def settled_count(url: str, table: str, wait: float = 10.0) -> int:
    """The row count once in-flight requests have finished (two equal readings 0.5 s apart)."""
    deadline = time.monotonic() + wait
    previous = count_rows(url, table)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = count_rows(url, table)
        if current == previous:
            return current
        previous = current
    return previous


@contextmanager
def sqlite_database(work: Path, scale: str) -> Iterator[str]:
    path = work / f"sqlite-{scale}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    yield f"sqlite:///{path}"


@contextmanager
def postgres_schema(base_url: str, scale: str, keep: bool) -> Iterator[str]:
    """A schema of its own in the given database, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    schema = f"bench_{scale.lower()}"
    admin = create_engine(sqlalchemy_url(base_url), poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(sqlalchemy_url(base_url)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if not keep:
            with suppress(Exception), admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            settings = {
                name: connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
            }
        return f"{version} ({', '.join(f'{k}={v}' for k, v in settings.items())})"
    finally:
        engine.dispose()


# -- one engine × scale --------------------------------------------------------------------


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
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIO_KEYS))


def clean_env() -> dict[str, str]:
    """The caller's environment without RECTRACK_* settings: every run starts from the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RECTRACK_")}


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
        [
            sys.executable,
            str(BENCH / "generate.py"),
            "--url",
            database_url,
            "--scale",
            scale,
            "--seed",
            str(options.seed),
            "--manifest",
            str(manifest_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        raise RuntimeError(f"generate.py failed ({result.returncode}):\n{result.stderr[-3000:]}")
    manifest = json.loads(manifest_path.read_text())
    manifest["timings"]["wall"] = round(time.perf_counter() - started, 2)
    return manifest


def create_key(env: dict, name: str) -> tuple[str | None, str]:
    """An admin key from ``rectrack keys create``; (None, why) when that command does not exist yet."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "keys", "create", "--role", "admin", "--name", name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.SubprocessError as error:
        return None, f"rectrack keys create failed: {error}"
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode == 0 and lines:
        return lines[-1], "admin key from `rectrack keys create`"
    reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"`rectrack keys create` unavailable (status {result.returncode}: {reason[:160]})"


def preflight(base: str, auth: dict, manifest: dict, as_of: str) -> dict:
    """One request of each kind before the load: sizes, ETag, status codes, idempotency.

    The reads first, then the writes (which move the change counter, so the probes of (c) and
    (d) find their answers not yet computed: "first ms"), then the ETag that (a) polls with,
    still current when it does."""
    info: dict = {}
    checks = {
        "report_summary": f"/api/v1/reports/{manifest['report_ids'][0]}/summary",
        "overdue": overdue_path(as_of),
        "overdue_today": overdue_path(None),
        "detail": f"/api/v1/recommendations/{manifest['recommendation_ids'][0]}",
    }
    for name, path in checks.items():
        status, _, body = http("GET", base + path, auth)
        info[f"{name}_status"] = status
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        if name.startswith("overdue"):
            info[f"{name}_total"] = json.loads(body).get("total")
            info[f"{name}_bytes"] = len(body)
    rec_id, code = manifest["write_targets"][0]
    payload = json.dumps(
        {"organisation_code": code, "author": "bench", "narrative": "bench", "status": "in_progress"}
    ).encode()
    headers = {
        **auth,
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-preflight-{secrets.token_hex(8)}",
    }
    url = f"{base}/api/v1/recommendations/{rec_id}/progress-updates"
    first = http("POST", url, headers, payload)
    info["post_status"] = first[0]
    if first[0] != 201:
        raise RuntimeError(f"POST {url} answered {first[0]}: {first[2][:300]!r}")
    again = http("POST", url, headers, payload)
    same = again[0] in (200, 201) and _json_id(again[2]) == _json_id(first[2])
    info["idempotency_replayed"] = same
    status, _, _ = http("GET", base + SUMMARY)
    info["anonymous_summary_status"] = status
    status, headers, body = http("GET", base + SUMMARY, auth)
    if status != 200:
        raise RuntimeError(f"GET {SUMMARY} answered {status}: {body[:300]!r}")
    info["summary_bytes"] = len(body)
    etag = next((v for k, v in headers.items() if k.lower() == "etag"), None)
    info["etag"] = etag
    if etag:
        status, _, _ = http("GET", base + SUMMARY, {**auth, "If-None-Match": etag})
        info["conditional_status"] = status
    return info


def _json_id(body: bytes):
    try:
        return json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None


class ApiServer:
    """The real server, started as in production; restarted when abandoned work would skew the next run."""

    def __init__(self, env: dict, port: int, workers: int, log_path: Path, database_url: str) -> None:
        self.env, self.port, self.workers, self.log_path = env, port, workers, log_path
        self.database_url = database_url
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.starts += 1
        cmd = [sys.executable, "-m", "app.cli", "serve", "--host", HOST, "--port", str(self.port),
               "--workers", str(self.workers)]  # fmt: skip
        self.process = start_process(cmd, env=self.env, log_path=self.log_path, append=self.starts > 1)
        wait_ready(self.process, self.base, self.log_path)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=timeout)
            self.process = None

    def restart(self) -> None:
        self.stop(timeout=5.0)  # what it is still doing was abandoned by its client
        if not self.database_url.startswith("sqlite"):
            with suppress(Exception):
                postgres_cancel_active(self.database_url)  # queries the stopped server left running
        self.start()

    def settle(self, limit: float) -> dict:
        """Wait until the server has finished the work wrk walked away from; restart it past ``limit``.

        Quiet means: the API uses (almost) no CPU, answers ``/readyz`` (a query: it needs a pooled
        connection) within a second, and, on PostgreSQL, no query of ours is still running.
        Requests queued for a pooled connection or a lock use no CPU, hence the probe.
        """
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = tree_cpu_seconds(self.pid)
            time.sleep(0.5)
            if (tree_cpu_seconds(self.pid) - before) / 0.5 > 0.1:
                continue
            try:
                status, _, _ = http("GET", self.base + "/readyz", timeout=1)
            except OSError:
                continue
            if status != 200:
                continue
            if not self.database_url.startswith("sqlite") and postgres_active(self.database_url):
                continue
            return {"settled_s": round(time.monotonic() - started, 1)}
        self.restart()
        return {"restarted": True, "settled_s": round(time.monotonic() - started, 1)}

    def log_offset(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def server_errors_since(self, offset: int) -> dict:
        """5xx answers in the access log since ``offset``, including those sent after wrk stopped."""
        counts: dict[str, int] = {}
        try:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(offset)
                for line in log_file:
                    if b'"rectrack.access"' not in line:
                        continue
                    with suppress(ValueError):
                        status = json.loads(line).get("status")
                        if isinstance(status, int) and status >= 500:
                            counts[str(status)] = counts.get(str(status), 0) + 1
        except OSError:
            pass
        return counts


def tree_cpu_seconds(pid: int) -> float:
    """CPU used by the process tree so far, its exited children included (PostgreSQL's backends
    come and go: a backend that has ended is counted in its parent's cutime and cstime)."""
    ticks = 0
    for member in process_tree(pid):
        with suppress(OSError, ValueError, IndexError):
            fields = _stat(member)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            if member == pid:
                ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children reaped
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_active(url: str) -> int:
    return _postgres_scalar(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state = 'active'",
    )


def postgres_cancel_active(url: str) -> int:
    return _postgres_scalar(
        url,
        "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state = 'active'",
    )


def _postgres_scalar(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def postgres_server_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its CPU is then counted)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # A backend's parent is the postmaster, read while the backend is still there.
            with suppress(OSError, ValueError, IndexError):
                return int(_stat(backend)[1])
            return None
    finally:
        engine.dispose()


class CpuWatch:
    """CPU seconds (user + system) used by a process tree while the block runs."""

    def __init__(self, pid: int | None) -> None:
        self.pid, self.seconds = pid, None

    def __enter__(self) -> CpuWatch:
        self._start = tree_cpu_seconds(self.pid) if self.pid else None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is not None:
            self.seconds = tree_cpu_seconds(self.pid) - self._start

    def ms_per(self, requests: int) -> float | None:
        return round(self.seconds * 1000 / requests, 2) if self.seconds is not None and requests else None


def unloaded_ms(base: str, probe: tuple | None, auth: dict, timeout: float = 120.0) -> dict:
    """One request at a time, no other load: the median of up to three (one when it is slow)."""
    if probe is None:
        return {}
    method, path, headers, body = probe
    times, statuses = [], []
    for _ in range(3):
        fresh = dict(headers)
        if method == "POST":
            fresh["Idempotency-Key"] = f"bench-probe-{secrets.token_hex(8)}"
        started = time.perf_counter()
        try:
            status, _, _ = http(method, base + path, {**auth, **fresh}, body, timeout=timeout)
        except (TimeoutError, OSError):
            return {"alone_ms": None, "alone_note": f"> {timeout:g} s"}
        times.append((time.perf_counter() - started) * 1000)
        statuses.append(status)
        if times[-1] > 2000:
            break
    first = times[0]  # the first time this request is asked: nothing cached for it yet
    times.sort()
    median = times[len(times) // 2]
    return {"alone_ms": round(median, 1), "first_ms": round(first, 1), "alone_statuses": statuses}


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
    updates = manifest["counts"]["progress_update"]
    log(f"{tag}: generated in {manifest['timings']['wall']} s ({updates} progress updates)")

    secret = secrets.token_urlsafe(48)
    port = free_port()
    env = server_env(database_url, options, secret, port)
    key, auth_note = create_key(env, f"bench-{tag}")
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    cell["auth"] = {"on": bool(key), "note": auth_note}
    plans = work / f"{tag}-plans"
    plans.mkdir(exist_ok=True)
    plan_files, plan_lines = _write_plans(plans, manifest, options.as_of)

    server = ApiServer(env, port, options.workers, logs / f"{tag}-server.log", database_url)
    base = server.base
    database_pid = postgres_server_pid(database_url) if engine == "postgresql" else None
    peak = 0.0
    try:
        server.start()
        info = preflight(base, auth, manifest, options.as_of)
        cell["preflight"] = info
        if key and info["anonymous_summary_status"] not in (401, 403):
            cell["auth"]["note"] += (
                f"; but GET {SUMMARY} without a key answered {info['anonymous_summary_status']}"
            )
        wrk_auth = {"BENCH_AUTHORIZATION": auth["Authorization"]} if auth else {}
        for scenario in SCENARIOS:
            if scenario.key not in options.scenarios:
                continue
            row = {
                "key": scenario.key,
                "title": scenario.title.format(as_of=options.as_of),
                "extra": scenario.extra,
            }
            spec = _scenario_spec(scenario.key, info, plan_files, plan_lines, options.as_of)
            if "skip" in spec:
                row.update(skipped=spec["skip"])
                cell["rows"].append(row)
                log(f"{tag}: {scenario.key} skipped: {spec['skip']}")
                continue
            wrk_env = {
                **wrk_auth,
                **spec["env"],
                "BENCH_RUN_ID": f"{tag}-{scenario.key}-{secrets.token_hex(4)}",
            }
            url = base + spec["path"]
            row.update(unloaded_ms(base, spec.get("probe"), auth))
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
                after = settled_count(database_url, "progress_update")
                acknowledged = row["counters"].get("created", 0)
                added = after - before
                row["writes"] = {
                    "acknowledged_201": acknowledged,
                    "rows_added": added,
                    "lost": max(0, acknowledged - added),  # 201 answered, row missing
                    # rows whose 201 wrk never read: in flight when the duration ran out (≤ connections)
                    "unacknowledged": max(0, added - acknowledged),
                    "posted": row["counters"].get("posted", 0),
                }
                row["write_rps"] = round(acknowledged / row["duration_s"], 1) if row["duration_s"] else 0.0
            row["after"] = server.settle(options.settle)
            row["server_5xx"] = server.server_errors_since(offset)  # the log is appended to across restarts
            cell["rows"].append(row)
            log(
                f"{tag}: {scenario.key}: {row['rps']} req/s, p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms, errors {row['errors']}, peak {row['peak_rss_mb']} MB, "
                f"alone {row.get('alone_ms')} ms"
                + (" (server restarted after)" if row["after"].get("restarted") else "")
            )
    finally:
        server.stop()
    cell["peak_rss_mb"] = peak
    cell["loadavg_end"] = round(os.getloadavg()[0], 2)
    cell["server_log"] = str(server.log_path)
    cell["server_starts"] = server.starts

    # The ceiling, measured by the same wrk with the same settings, in the same run.
    size = cell["preflight"]["summary_bytes"]
    cport = free_port()
    cenv = clean_env()
    cenv.update(BENCH_CEILING_BYTES=str(size), PYTHONUNBUFFERED="1")
    clog = logs / f"{tag}-ceiling.log"
    ceiling = start_process(
        [sys.executable, "-m", "uvicorn", "ceiling:app", "--app-dir", str(BENCH), "--host", HOST,
         "--port", str(cport), "--workers", str(options.workers), "--no-access-log",
         "--log-level", "warning"],
        env=cenv,
        log_path=clog,
    )  # fmt: skip
    try:
        cbase = f"http://{HOST}:{cport}"
        wait_ready(ceiling, cbase, clog)
        env_c = {"BENCH_AUTHORIZATION": auth["Authorization"]} if auth else {}
        if options.load.warmup > 0:
            options.load.run(cbase + SUMMARY, "static.lua", env_c, duration=options.load.warmup)
        raw = options.load.run(cbase + SUMMARY, "static.lua", env_c)
        cell["ceiling"] = {**summarise(raw), "body_bytes": size}
        log(f"{tag}: ceiling: {cell['ceiling']['rps']} req/s for a {size}-byte body")
    finally:
        stop_process(ceiling)
    for row in cell["rows"]:
        if not row.get("skipped") and cell["ceiling"]["rps"]:
            row["ratio"] = round(row["rps"] / cell["ceiling"]["rps"], 3)
    return cell


def _write_plans(folder: Path, manifest: dict, as_of: str) -> tuple[dict[str, Path], dict[str, list[str]]]:
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
    body = {"organisation_code": code, "author": "bench", "narrative": "bench", "status": "in_progress"}
    path = f"/api/v1/recommendations/{rec_id}/progress-updates"
    return ("POST", path, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _scenario_spec(key: str, info: dict, plans: dict[str, Path], lines: dict, as_of: str) -> dict:
    """wrk's URL, script and settings for a scenario, and one request of it for the unloaded probe."""
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


# -- report ------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with suppress(OSError, ValueError):
        memory_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": socket.gethostname(),
    }


def commit(report: Path | None = None) -> dict:
    """HEAD, and whether the tree differs from it (the report this run rewrites aside)."""

    def git(*args: str) -> str:
        # --no-optional-locks: read only, not even an index refresh
        result = subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    changed = git("diff", "--name-only", "HEAD").splitlines()  # staged or not, tracked files only
    if report is not None:
        changed = [path for path in changed if (ROOT / path).resolve() != report.resolve()]
    return {
        "hash": git("rev-parse", "HEAD") or "unknown",
        "subject": git("log", "-1", "--format=%s"),
        "dirty": bool(changed),
    }


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _load_warning(results: dict) -> str:
    """Other work on the machine skews every figure: say so when there was some."""
    seen = [c[k] for c in results["cells"] for k in ("loadavg_start", "loadavg_end") if k in c]
    if not seen:
        return ""
    text = f" 1-minute load average during the run: {min(seen):g} to {max(seen):g}"
    if max(seen) > 0.5 * (results["machine"]["nproc"] or 1):
        text += " (other processes were competing for the CPUs: treat the figures as noisy)"
    return text + "."


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


HISTORY_MARKER = "<!-- Below: written by hand, kept by bench/run.py when it rewrites the part above. -->"


def kept_history(path: Path) -> str:
    """The hand-written part of an existing report (the before and after of each change), if any."""
    if not path.exists():
        return ""
    text = path.read_text()
    at = text.find(HISTORY_MARKER)
    return text[at:] if at >= 0 else ""


def render_markdown(results: dict) -> str:
    m, c, load = results["machine"], results["commit"], results["load"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`); do not edit by hand: run it again. Raw figures: "
        "`bench/results/*.json` (not committed). The before and after of each optimisation are "
        "at the end, below the tables.",
        "",
        f"- **Command:** `{results.get('command', 'bench/run.py')}`",
        f"- **Date:** {results['date']}",
        f"- **Commit:** `{c['hash'][:12]}` {c['subject']}"
        + (" (with uncommitted changes)" if c["dirty"] else ""),
        f"- **Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; load generator, API and database share it." + _load_warning(results),
        f"- **Load:** wrk {load['wrk_version']} over loopback, {load['threads']} threads, "
        f"{load['connections']} connections, {load['duration_s']:g} s per scenario after a "
        f"{load['warmup_s']:g} s warm-up, request timeout {load['timeout_s']:g} s. Latencies are wrk's "
        "(from the client, loopback included).",
        f"- **API:** `rectrack serve` (uvicorn `app.main:app`) with {results['workers']} worker(s), "
        "`RECTRACK_ENVIRONMENT=production`, a random `RECTRACK_SECRET_KEY`, JSON access log at `info` "
        "(to a file), other settings at their defaults"
        + (
            f" plus {', '.join(f'`{k}={v}`' for k, v in results['server_env'].items())}"
            if results["server_env"]
            else ""
        )
        + ".",
        f"- **Auth:** {results.get('auth_summary', '?')}",
        "- **Ceiling:** `bench/ceiling.py`, a bare FastAPI route answering a constant JSON body exactly as "
        "large as that run's portfolio summary (pre-encoded; no middleware, no database), under the same "
        "uvicorn worker count and the same wrk settings, measured in the same run right after the API. "
        '"vs ceiling" is requests per second divided by the ceiling\'s.',
        f"- **Data:** `bench/generate.py`, seed {results['seed']}; every progress update is dated before "
        f"{DEFAULT_AS_OF}. (d) asks as of {results['as_of']}; "
        f"the server's today was {results['server_today']}"
        + (
            ", so (d) is answered from the progress history (a past date), and (d′) shows the same page "
            "as of today, from the stored statuses."
            if results["as_of"] < results["server_today"]
            else "."
        ),
        "- **Errors:** answers other than 2xx/3xx plus socket errors (connect, read, write, timeout). "
        "**Peak RSS:** resident memory high-water mark of the API process tree during the scenario. "
        "**Alone:** one request with nothing else running (median of up to three, before the load): "
        "the latency without queueing. **First:** the first of those: for a list or summary, the "
        "answer computed from the database (later ones come from the answer cache until the next "
        "write). **API CPU, DB CPU:** CPU time (user + system) used during the run by the API process "
        "tree and by the PostgreSQL server's processes (SQLite works inside the API), per answered "
        "request: what bounds a scenario that keeps a CPU busy. Between scenarios the API is given "
        "time to finish what wrk "
        "abandoned at the end of a run, and restarted if it cannot.",
    ]
    if results.get("postgres"):
        lines.append(f"- **PostgreSQL:** {results['postgres']}")
    lines += [
        "",
        "## Datasets",
        "",
        "| engine | scale | reports | recommendations | owners | progress updates | evidence links "
        "| overdue on " + DEFAULT_AS_OF + " | generation (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cell in results["cells"]:
        ds = cell.get("dataset")
        if not ds:
            continue
        n = ds["counts"]
        lines.append(
            _row(
                ENGINE_NAMES[cell["engine"]],
                cell["scale"],
                *(_fmt(n[t]) for t in ("report", "recommendation", "recommendation_owner")),
                *(_fmt(n[t]) for t in ("progress_update", "evidence_link")),
                _fmt(ds["overdue_as_of_generation_day"]),
                _fmt(float(ds["timings"]["wall"])),
            )
        )
    s_cells = {cell["engine"]: cell for cell in results["cells"] if cell["scale"] == "S"}
    for cell in results["cells"]:
        engine, scale = cell["engine"], cell["scale"]
        lines += ["", f"## {ENGINE_NAMES[engine]}, scale {scale}", ""]
        if cell.get("error"):
            lines += [f"**Failed:** {cell['error'].splitlines()[0][:300]}", ""]
            if not cell.get("rows"):
                continue
        lines += [
            "| scenario | req/s | p50 ms | p99 ms | errors | vs ceiling | peak RSS MB | alone ms | first ms "
            "| API CPU ms | DB CPU ms | target (part 5) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        unanswered = f"> {results['load']['duration_s']:g} s"
        for row in cell.get("rows", []):
            if row.get("skipped"):
                lines.append(_row(row["title"], row["skipped"], *[""] * 10))
                continue
            verdict = target_verdict(engine, scale, row["key"], row, cell, s_cells.get(engine))
            lines.append(
                _row(
                    row["title"],
                    _fmt(row["rps"]),
                    unanswered if row["p50_ms"] is None else _fmt(row["p50_ms"], 2),
                    unanswered if row["p99_ms"] is None else _fmt(row["p99_ms"], 2),
                    _fmt(row["errors"]),
                    _fmt(row.get("ratio"), 2),
                    _fmt(row.get("peak_rss_mb")),
                    row.get("alone_note") or _fmt(row.get("alone_ms")),
                    row.get("alone_note") or _fmt(row.get("first_ms")),
                    _fmt(row.get("api_cpu_ms"), 2),
                    _fmt(row.get("database_cpu_ms"), 2),
                    verdict,
                )
            )
        ceiling = cell.get("ceiling")
        if ceiling:
            lines.append(
                _row(
                    f"ceiling: bare FastAPI, constant {ceiling['body_bytes']:,}-byte body",
                    _fmt(ceiling["rps"]),
                    _fmt(ceiling["p50_ms"], 2),
                    _fmt(ceiling["p99_ms"], 2),
                    _fmt(ceiling["errors"]),
                    "1.00",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                )
            )
        notes = []
        info = cell.get("preflight", {})
        if info:
            notes.append(
                f"portfolio summary {info['summary_bytes']:,} bytes; "
                f"ETag {'present' if info.get('etag') else 'absent'}"
                + (f", If-None-Match → {info.get('conditional_status')}" if info.get("etag") else "")
                + "; Idempotency-Key replay "
                + ("honoured" if info.get("idempotency_replayed") else "not honoured (it made a second row)")
                + f"; overdue as of {results['as_of']}: {_fmt(info.get('overdue_total'))}, as of today: "
                f"{_fmt(info.get('overdue_today_total'))}"
            )
        for row in cell.get("rows", []):
            if row["key"] == "a" and row.get("counters"):
                answered = sum(row["counters"].get(k, 0) for k in ("s2xx", "s3xx", "s4xx", "s5xx"))
                notes.append(f"a: {row['counters'].get('s3xx', 0):,} of {answered:,} answers were 304")
            writes = row.get("writes")
            if writes:
                notes.append(
                    f"{row['key']}: {writes['acknowledged_201']:,} answered 201 "
                    f"({_fmt(row['write_rps'])} writes/s), {writes['rows_added']:,} rows added, "
                    f"lost {writes['lost']}, in flight at the end {writes['unacknowledged']}"
                )
            if row.get("requests") == 0:
                notes.append(f"{row['key']}: no request was answered within the {unanswered[2:]} run")
            if row.get("after", {}).get("restarted"):
                notes.append(
                    f"{row['key']}: the API was still working on requests wrk had given up on "
                    f"{row['after']['settled_s']} s later, so it was restarted before the next scenario"
                )
            if row.get("server_5xx"):
                notes.append(
                    f"{row['key']}: the API logged {row['server_5xx']} answers during the run or after wrk "
                    "stopped (see the server log)"
                )
            if row.get("error_kinds"):
                sample = f" e.g. `{row['error_samples'][0][:120]}`" if row.get("error_samples") else ""
                notes.append(f"{row['key']} errors: {row['error_kinds']}{sample}")
        memory = memory_verdict(scale, cell)
        if cell.get("peak_rss_mb") is not None:
            notes.append(f"API peak RSS over the run {cell['peak_rss_mb']} MB {memory}".rstrip())
        if notes:
            lines += [""] + [f"- {note}" for note in notes]
    lines.append("")
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------


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
            str(Path(__file__).resolve()),
            *_child_argv(args, out),
        ]
        env = clean_env()
        log("PostgreSQL: starting a throwaway cluster (scripts/with-postgres)")
        # Its own process group, so that an interrupted run can stop the inner run.py too: with-postgres
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
        scenarios=args.scenario_list,
    )
    sys.path.insert(0, str(ROOT))
    from app.clock import Clock

    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
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
                        context = sqlite_database(args.results_dir / "work", scale)
                    else:
                        context = postgres_schema(postgres_url, scale, args.keep_data)
                    with context as database_url:
                        cell = run_cell(engine, scale, database_url, options)
                        if engine == "sqlite" and not args.keep_data:
                            for suffix in ("", "-wal", "-shm"):
                                Path(f"{database_url.removeprefix('sqlite:///')}{suffix}").unlink(
                                    missing_ok=True
                                )
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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_everything()
        sys.exit(130)
