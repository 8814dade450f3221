"""Reading a received document in a child process bounded in memory, CPU and wall-clock time.

A PDF is a program of sorts, and a Word file a zip archive of XML: compressed
streams can expand a thousandfold and a crafted file can keep a parser busy for
minutes. So a document is read in a child process (``python -m <reader>``) that
limits its own address space and CPU time, and the parent kills it when the
wall-clock bound passes. A runaway document costs one child, never the server.
At most ``MAX_CONCURRENT`` children run at once per server process.

A reader module calls :func:`serve` from its ``__main__`` with a function from the
document's bytes to a JSON-able answer; the parent calls :func:`read_in_child`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DocumentUnreadable", "ExtractionBusy", "ReadLimits", "read_in_child", "serve"]

MAX_CONCURRENT = 2
MAX_MEMORY_BYTES = 1 << 30  # the child's address space
MAX_TEXT_CHARS = 5_000_000  # the text of a whole document

_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)


@dataclass(frozen=True)
class ReadLimits:
    max_pages: int = 300  # a PDF's; a Word file has no fixed pages
    timeout_seconds: float = 60.0


class DocumentUnreadable(ValueError):
    """The document cannot be read as a report's text; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ExtractionBusy(RuntimeError):
    """Every reading slot stayed taken for as long as one reading may last."""


def read_in_child(
    reader_module: str, data: bytes, limits: ReadLimits, *, too_slow: DocumentUnreadable
) -> dict:
    """The answer of ``python -m reader_module`` for ``data``: :class:`DocumentUnreadable` with the
    reader's code, ``too_slow`` when the child ran out of time or memory, or :class:`ExtractionBusy`.
    Blocks: call it off the event loop."""
    if not _SLOTS.acquire(timeout=limits.timeout_seconds):
        raise ExtractionBusy("Other documents are being read; try again in a minute.")
    try:
        command = [sys.executable, "-m", reader_module, str(limits.max_pages), str(limits.timeout_seconds)]
        try:
            completed = subprocess.run(
                command, input=data, capture_output=True, timeout=limits.timeout_seconds, check=False
            )
        except subprocess.TimeoutExpired:
            raise too_slow from None
    finally:
        _SLOTS.release()
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        raise too_slow from None  # killed by its own limits before it could answer
    if "error" in answer:
        raise DocumentUnreadable(answer["error"]["code"], answer["error"]["message"])
    return answer


def _limit_self(timeout_seconds: float) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY_BYTES, MAX_MEMORY_BYTES))
    cpu = int(timeout_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def serve(read: Callable[[bytes, ReadLimits], dict], argv: list[str]) -> int:
    """The child's side: limit this process, read stdin, write the answer (or the problem) as JSON."""
    limits = ReadLimits(max_pages=int(argv[0]), timeout_seconds=float(argv[1]))
    _limit_self(limits.timeout_seconds)
    data = sys.stdin.buffer.read()
    try:
        answer = read(data, limits)
    except DocumentUnreadable as problem:
        answer = {"error": {"code": problem.code, "message": problem.message}}
    sys.stdout.write(json.dumps(answer))
    return 0
