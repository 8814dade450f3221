"""Logs as JSON lines on stderr.

Every record goes through Python's logging, except the access log's lines when logging is
configured as :func:`configure_logging` leaves it: those are formatted here directly and
written once per event-loop turn (see :class:`LineSink`), so a burst of answers costs one
write and an idle server still shows each line at once.
"""

import asyncio
import json
import logging
import math
import os
import sys
import threading
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # what json.dumps uses for a str
from typing import TextIO

ACCESS_LOGGER = "rectrack.access"

# At most this many bytes a write, in whole lines: POSIX keeps a write to a pipe of up to
# PIPE_BUF (4096 on Linux) bytes in one piece, so workers sharing a pipe never mix lines.
WRITE_BYTES = 4096


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy for log shippers, no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class LineSink:
    """Lines for one stream, written in order, whole, and never more than a loop turn late.

    ``write`` sends at once (with whatever is waiting first); ``add`` keeps the line and, on
    the first line of a turn, asks the running event loop to write them all when it next
    gets round to its ready callbacks, after the answers of this turn. Thread-safe: records
    logged from worker threads take the same lock.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):  # a stream without a file (a test's StringIO)
            self.fd = None
        self.lock = threading.Lock()
        self.waiting: list[str] = []
        self.scheduled_on: asyncio.AbstractEventLoop | None = None

    def add(self, line: str) -> None:
        with self.lock:
            self.waiting.append(line)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop in this thread: nothing to batch with
                self._write_waiting()
                return
            # Asked once per turn of this loop; again if the loop asked before is another one
            # (a loop closed before its turn came would otherwise hold every later line back).
            if self.scheduled_on is not loop:
                loop.call_soon(self.flush)
                self.scheduled_on = loop

    def write(self, line: str) -> None:
        with self.lock:
            self.waiting.append(line)
            self._write_waiting()

    def flush(self) -> None:
        with self.lock:
            self.scheduled_on = None
            if self.waiting:
                self._write_waiting()

    def _write_waiting(self) -> None:
        lines, self.waiting = self.waiting, []
        try:
            if self.fd is None:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
                return
            # Anything written to the stream itself goes first; and a closed stream raises
            # here, so its file descriptor (perhaps another file's by now) is never written.
            self.stream.flush()
            for chunk in _chunks(lines):
                while chunk:
                    chunk = chunk[os.write(self.fd, chunk) :]
        except (OSError, ValueError):  # stderr closed or gone: as StreamHandler, never raise
            pass


def _chunks(lines: list[str]) -> list[bytes]:
    """The lines, newline-terminated, in writes of whole lines of at most WRITE_BYTES each."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        # backslashreplace, as stderr's own encoder does: a line of ours is ASCII already
        encoded = line.encode("utf-8", "backslashreplace") + b"\n"
        if current and size + len(encoded) > WRITE_BYTES:
            chunks.append(b"".join(current))
            current, size = [], 0
        current.append(encoded)
        size += len(encoded)
    if current:
        chunks.append(b"".join(current))
    return chunks


class JsonLinesHandler(logging.Handler):
    """Formats records with :class:`JsonFormatter` and writes each at once through a sink."""

    def __init__(self, sink: LineSink) -> None:
        super().__init__()
        self.sink = sink
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.sink.write(line)

    def flush(self) -> None:
        # Also what logging's own exit hook (logging.shutdown) calls: no line waits past exit.
        self.sink.flush()


class _SecondStamp:
    """``isoformat(timespec="milliseconds")`` of a UTC time, its part to the second kept."""

    __slots__ = ("second", "prefix")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def __call__(self, timestamp: float) -> str:
        # As datetime.fromtimestamp does: microseconds rounded half to even, carried over.
        fraction, whole = math.modf(timestamp)
        microseconds = round(fraction * 1e6)
        second = int(whole)
        if microseconds >= 1_000_000:
            second, microseconds = second + 1, microseconds - 1_000_000
        elif microseconds < 0:
            second, microseconds = second - 1, microseconds + 1_000_000
        if second != self.second:
            self.prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            self.second = second
        return self.prefix + _MILLISECONDS[microseconds // 1000]


_MILLISECONDS = [f"{n:03d}+00:00" for n in range(1000)]


_stamp = _SecondStamp()
_ACCESS_PREFIX = ', "level": "info", "logger": "' + ACCESS_LOGGER + '", "message": '
# Values seen on every request, encoded once; anything else is encoded as it comes.
_METHODS = {
    m: encode_basestring_ascii(m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
}
_routes: dict[str, str] = {}
_ROUTES_KEPT = 1024  # route templates are the application's own, a few dozen; this only bounds it


def access_line(
    *, timestamp: float, request_id: str, method: str, path: str, route: str, status: int, duration_ms: float
) -> str:
    """The access log's line: what JsonFormatter makes of the record ``access`` would log.

    ``request_id`` must be plain (letters, digits, ``.``, ``_``, ``-``): it is written as is.
    """
    encoded_route = _routes.get(route)
    if encoded_route is None:
        encoded_route = encode_basestring_ascii(route)
        if len(_routes) < _ROUTES_KEPT:
            _routes[route] = encoded_route
    return "".join(
        (
            '{"time": "',
            _stamp(timestamp),
            '"',
            _ACCESS_PREFIX,
            encode_basestring_ascii(f"{method} {path} {status}"),
            ', "request_id": "',
            request_id,
            '", "method": ',
            _METHODS.get(method) or encode_basestring_ascii(method),
            ', "path": ',
            encode_basestring_ascii(path),
            ', "route": ',
            encoded_route,
            ', "status": ',
            str(int(status)),
            ', "duration_ms": ',
            repr(float(duration_ms)),
            "}",
        )
    )


_handler: JsonLinesHandler | None = None
_access_logger = logging.getLogger(ACCESS_LOGGER)
_root = logging.getLogger()


def access(
    *, timestamp: float, request_id: str, method: str, path: str, route: str, status: int, duration_ms: float
) -> None:
    """Log one answered request to ``rectrack.access``.

    Straight to the sink while the access logger would reach only our handler; through
    logging, as any record, once anything else listens (a test's capture, an operator's
    handler or filter), so they see the same record as ever.
    """
    handler = _handler
    logger = _access_logger
    handlers = _root.handlers
    if (
        handler is not None
        and len(handlers) == 1
        and handlers[0] is handler
        and not logger.handlers
        and not logger.filters
        and not handler.filters
        and logger.propagate
        and logger.isEnabledFor(logging.INFO)
        and handler.level <= logging.INFO
    ):
        handler.sink.add(
            access_line(
                timestamp=timestamp,
                request_id=request_id,
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=duration_ms,
            )
        )
        return
    logger.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "fields": {
                "request_id": request_id,
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
            }
        },
    )


def flush_logs() -> None:
    """Write the access lines still waiting for their loop turn (at the application's shutdown)."""
    if _handler is not None:
        _handler.sink.flush()



def configure_logging(level: str = "info") -> None:
    global _handler
    previous = _handler
    handler = JsonLinesHandler(LineSink(sys.stderr))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _handler = handler
    if previous is not None:
        previous.sink.flush()
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
