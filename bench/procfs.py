"""CPU time and peak memory of a process tree, read from ``/proc`` (psutil is not needed)."""

from __future__ import annotations

import os
import threading
from contextlib import suppress
from pathlib import Path


def stat_fields(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command's name: [0] state, [1] ppid, [11] utime,
    [12] stime, [13] cutime, [14] cstime. OSError once the process is gone."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def parent_pid(pid: int) -> int:
    return int(stat_fields(pid)[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(stat_fields(entry.name)[1])
        except OSError:
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def worker_pids(supervisor: int) -> set[int]:
    """uvicorn's worker processes: the supervisor's multiprocessing children."""
    workers = set()
    for child in _children(supervisor):
        with suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(child)
    return workers


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


def tree_cpu_seconds(pid: int) -> float:
    """CPU used by the process tree so far, its exited children included (PostgreSQL's backends
    come and go: a backend that has ended is counted in its parent's cutime and cstime)."""
    ticks = 0
    for member in process_tree(pid):
        with suppress(OSError, ValueError, IndexError):
            fields = stat_fields(member)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            if member == pid:
                ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children reaped
    return ticks / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Peak resident memory of a process tree over a window.

    The kernel's own peak (VmHWM) is reset at the start of the window where
    allowed (``/proc/PID/clear_refs``), and RSS is also sampled every 50 ms;
    the window's peak is the larger of the two (summed over the tree's processes:
    with one worker, that is the one process).
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.sampled_kb = 0
        self.hwm_kb = 0
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
