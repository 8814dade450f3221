"""The real server, started as in production (``rectrack serve``); restarted when abandoned work
would skew the next run."""

from __future__ import annotations

import json
import sys
import time
from contextlib import suppress
from pathlib import Path

from bench import ROOT
from bench.databases import is_sqlite, postgres_active, postgres_cancel_active
from bench.processes import HOST, http, start_process, stop_process, wait_ready
from bench.procfs import tree_cpu_seconds


class ApiServer:
    def __init__(self, env: dict, port: int, workers: int, log_path: Path, database_url: str) -> None:
        self.env, self.port, self.workers, self.log_path = env, port, workers, log_path
        self.database_url = database_url
        self.process = None
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
        self.process = start_process(
            cmd, env=self.env, log_path=self.log_path, cwd=ROOT, append=self.starts > 1
        )
        wait_ready(self.process, self.base + "/readyz", self.log_path)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=timeout)
            self.process = None

    def restart(self) -> None:
        self.stop(timeout=5.0)  # what it is still doing was abandoned by its client
        if not is_sqlite(self.database_url):
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
            if not is_sqlite(self.database_url) and postgres_active(self.database_url):
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
