"""Servers as child processes: start one in a process group of its own, wait until it is ready, stop it.

The benchmark harness and the end-to-end tests start the real server the same way, with this
module: loopback only, output to a log file, SIGTERM to the group then SIGKILL, so that no
uvicorn worker outlives its supervisor.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, always

_started: list[subprocess.Popen] = []  # every process started here and not stopped yet


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The caller's environment without RECTRACK_* settings: every server starts from the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RECTRACK_")}


def start_process(
    cmd: list[str], *, env: dict, log_path: Path, cwd: Path, append: bool = False
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
    """SIGTERM to the process group, then SIGKILL if it lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    # Workers that outlived their supervisor are still in its group.
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


class NotReady(RuntimeError):
    """The server exited, or did not answer its readiness probe in time."""


def wait_ready(
    process: subprocess.Popen, url: str, log_path: Path, timeout: float = 120, headers: dict | None = None
) -> None:
    """Until ``url`` answers 200; NotReady (with the log's tail) if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotReady(f"the server exited with status {process.returncode}:\n{tail(log_path)}")
        try:
            status, _, body = http("GET", url, headers, timeout=2)
            if status == 200:
                return
            last = f"{status} {body[:200]!r}"
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    raise NotReady(f"{url} did not answer 200 within {timeout:.0f} s ({last}):\n{tail(log_path)}")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
