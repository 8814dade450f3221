"""The load generator: wrk, the same settings for every scenario and every ceiling."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
from contextlib import suppress
from dataclasses import dataclass

from bench import BENCH
from bench.console import log

WRK_DIR = BENCH / "wrk"
EXIT_NO_WRK = 77


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
    """The fixed load: the same for every scenario and for the ceilings."""

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

    def measure(self, url: str, script: str, env: dict) -> dict:
        """A warm-up (when set), then the measured run, summarised."""
        if self.warmup > 0:
            self.run(url, script, env, duration=self.warmup)
        return summarise(self.run(url, script, env))


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
