"""The access log's own line and its writer: the same line JsonFormatter makes, written in
whole lines, after the loop turn that logged it, in order with every other record."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import logs
from app.logs import WRITE_BYTES, JsonFormatter, JsonLinesHandler, LineSink, access_line

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["time", "level", "logger", "message", "request_id", "method", "path", "route", "status", "duration_ms"]


def formatted(*, timestamp, request_id, method, path, route, status, duration_ms) -> str:
    """What Python's logging made of the access record before the access line was built by hand."""
    record = logging.LogRecord("rectrack.access", logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None)
    record.created = timestamp
    record.fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
    }
    return JsonFormatter().format(record)


HOSTILE_PATHS = [
    "/api/v1/reports",
    '/api/v1/reports/"1"',
    "/back\\slash",
    "/control/\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f",
    "/caf\u00e9/\u00fc\u00df/\u4e2d\u6587",
    "/line\u2028separator\u2029",
    "/emoji/\U0001f600",
    "/lone/\udcff/surrogate",  # what a decoder with surrogateescape would leave
    "/\ufffd/replaced",
    '/{"json": [1, 2]}',
    "/" + "x" * 10_000,
    "",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize(
    ("method", "route", "status"),
    [
        ("GET", "/api/v1/reports/{report_id}", 200),
        ("HEAD", "unmatched", 404),
        ("POST", "/api/v1/recommendations/{recommendation_id}/progress", 201),
        ("PROPFIND", "unmatched", 405),
        ("X!#$%&'*+-.^_`|~", "unmatched", 400),  # every character an HTTP method token may hold
        ("GET", 'a "template" \\ \n', 500),
    ],
)
def test_the_access_line_is_the_record_formatted_as_json(path, method, route, status):
    fields = {
        "timestamp": 1764689775.123456,
        "request_id": "trace-42_A.b",
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": 0.53,
    }
    line = access_line(**fields)
    assert line == formatted(**fields)
    assert "\n" not in line and line.isascii()
    entry = json.loads(line)
    assert list(entry) == FIELDS
    assert entry["path"] == path and entry["method"] == method and entry["route"] == route
    assert entry["message"] == f"{method} {path} {status}"
    assert entry["logger"] == "rectrack.access" and entry["level"] == "info"


@pytest.mark.parametrize(
    "timestamp",
    [
        0.0,
        1764689775.0,
        1764689775.9995,
        1764689775.9999996,  # microseconds round up into the next second
        1764689775.0009995,
        1764689775.1234565,
        1767225599.9999999,  # the last instant of a year
        4102444800.5,
    ],
)
def test_the_time_is_stamped_as_the_formatter_stamps_it(timestamp):
    fields = dict(request_id="r", method="GET", path="/", route="/", status=200, duration_ms=1.0)
    assert access_line(timestamp=timestamp, **fields) == formatted(timestamp=timestamp, **fields)


@given(
    timestamp=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
    path=st.text(max_size=200),
    duration_ms=st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda d: round(d, 2)),
    status=st.integers(min_value=100, max_value=599),
)
def test_any_access_line_is_the_record_formatted_as_json(timestamp, path, duration_ms, status):
    fields = dict(
        timestamp=timestamp, request_id="0123abcd", method="PATCH", path=path, route="unmatched", status=status,
        duration_ms=duration_ms,
    )  # fmt: skip
    assert access_line(**fields) == formatted(**fields)
    assert json.loads(access_line(**fields))["path"] == path


@given(st.lists(st.integers(min_value=0, max_value=3 * WRITE_BYTES), max_size=40))
def test_writes_hold_whole_lines_and_at_most_a_pipe_buffer_unless_one_line_is_longer(lengths):
    lines = [chr(ord("a") + n % 26) * length for n, length in enumerate(lengths)]
    chunks = logs._chunks(lines)
    assert b"".join(chunks) == "".join(line + "\n" for line in lines).encode()
    for chunk in chunks:
        assert chunk.endswith(b"\n")
        assert len(chunk) <= WRITE_BYTES or chunk.count(b"\n") == 1
    # No two chunks that could have been one: a burst is as few writes as the limit allows.
    for first, second in zip(chunks, chunks[1:], strict=False):
        assert len(first) + len(second.split(b"\n", 1)[0]) + 1 > WRITE_BYTES


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


def read_all(fd: int) -> str:
    try:
        return os.read(fd, 1 << 20).decode()
    except BlockingIOError:
        return ""


def test_lines_added_in_one_loop_turn_are_written_together_at_its_end(pipe):
    read_end, write_end = pipe
    sink = LineSink(os.fdopen(write_end, "w", closefd=False))

    async def burst() -> tuple[str, str]:
        for n in range(3):
            sink.add(f"line {n}")
        during = read_all(read_end)
        await asyncio.sleep(0)  # the loop's next turn: the sink's write was scheduled first
        return during, read_all(read_end)

    during, after = asyncio.run(burst())
    assert during == ""
    assert after == "line 0\nline 1\nline 2\n"


def test_an_idle_loop_writes_each_line_on_its_next_turn(pipe):
    read_end, write_end = pipe
    sink = LineSink(os.fdopen(write_end, "w", closefd=False))

    async def one_at_a_time() -> list[str]:
        seen = []
        for n in range(3):
            sink.add(f"line {n}")
            await asyncio.sleep(0)
            seen.append(read_all(read_end))
        return seen

    assert asyncio.run(one_at_a_time()) == ["line 0\n", "line 1\n", "line 2\n"]


def test_a_loop_closed_before_its_turn_holds_no_line_back_from_the_next_loop(pipe):
    read_end, write_end = pipe
    sink = LineSink(os.fdopen(write_end, "w", closefd=False))

    class Stopped(SystemExit):
        """Leaves the loop at once: asyncio lets SystemExit through its callbacks."""

    async def add(line: str, then_stop: bool = False) -> None:
        sink.add(line)
        if then_stop:
            raise Stopped

    closed_early = asyncio.new_event_loop()
    with pytest.raises(Stopped):
        closed_early.run_until_complete(add("line 0", then_stop=True))  # before the turn that writes it
    closed_early.close()
    assert read_all(read_end) == ""

    async def next_loop() -> str:
        await add("line 1")
        await asyncio.sleep(0)
        return read_all(read_end)

    assert asyncio.run(next_loop()) == "line 0\nline 1\n"


def test_other_records_come_after_the_access_lines_logged_before_them(pipe):
    read_end, write_end = pipe
    handler = JsonLinesHandler(LineSink(os.fdopen(write_end, "w", closefd=False)))
    other = logging.getLogger("rectrack.test.other")

    async def interleaved() -> None:
        handler.sink.add("access 1")
        handler.handle(other.makeRecord(other.name, logging.WARNING, __file__, 0, "from a thread", (), None))
        handler.sink.add("access 2")
        await asyncio.sleep(0)

    def in_thread() -> None:
        handler.handle(other.makeRecord(other.name, logging.WARNING, __file__, 0, "from a thread", (), None))

    asyncio.run(interleaved())
    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    lines = read_all(read_end).splitlines()
    assert lines[0] == "access 1" and json.loads(lines[1])["message"] == "from a thread"
    assert lines[2] == "access 2" and json.loads(lines[3])["message"] == "from a thread"
    assert len(lines) == 4


@contextmanager
def configured_alone() -> Iterator[LineSink]:
    """Logging as configure_logging leaves it, without the test run's capture handlers (which
    pytest adds to the root logger for each phase of a test, so this runs in the test's body)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure_logging("info")
    try:
        yield logs._handler.sink
    finally:
        logs.flush_logs()
        root.handlers[:] = handlers
        root.setLevel(level)


ACCESS = dict(
    timestamp=1764689775.5, request_id="r1", method="GET", path="/api/v1/reports", route="/api/v1/reports",
    status=200, duration_ms=0.25,
)  # fmt: skip


def waiting_after(log: Callable[[], None], sink: LineSink) -> list[str]:
    """What ``log``, called in a running event loop, left waiting for the loop's next turn."""

    async def in_a_turn() -> list[str]:
        log()
        return sink.waiting[:]

    return asyncio.run(in_a_turn())


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_with_only_its_own_handler_the_access_log_goes_straight_to_the_sink():
    async def answered() -> tuple[list[str], list[str]]:
        logs.access(**ACCESS)
        waiting = sink.waiting[:]
        await asyncio.sleep(0)
        return waiting, sink.waiting[:]

    with configured_alone() as sink:
        waiting, after_the_turn = asyncio.run(answered())
    assert waiting == [access_line(**ACCESS)] and after_the_turn == []


def test_with_another_handler_listening_the_access_log_is_an_ordinary_record():
    with configured_alone() as sink:
        collected = Collected()
        logging.getLogger().addHandler(collected)
        assert waiting_after(lambda: logs.access(**ACCESS), sink) == []  # written at once, as any record
    (record,) = collected.records
    assert record.name == "rectrack.access" and record.getMessage() == "GET /api/v1/reports 200"
    assert record.fields == {k: v for k, v in ACCESS.items() if k != "timestamp"}


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_above_info_nothing_is_logged(level):
    with configured_alone() as sink:
        logging.getLogger().setLevel(level)
        assert waiting_after(lambda: logs.access(**ACCESS), sink) == []


def test_a_disabled_or_filtered_access_logger_logs_nothing():
    logger = logging.getLogger("rectrack.access")
    with configured_alone() as sink:
        logger.disabled = True
        try:
            assert waiting_after(lambda: logs.access(**ACCESS), sink) == []
        finally:
            logger.disabled = False
        logger.addFilter(lambda record: False)
        try:
            assert waiting_after(lambda: logs.access(**ACCESS), sink) == []
        finally:
            logger.filters.clear()
        assert waiting_after(lambda: logs.access(**ACCESS), sink) == [access_line(**ACCESS)]  # and back


EXIT_BEFORE_THE_LOOP_WRITES = """
import asyncio, sys
from app import logs

logs.configure_logging("info")

async def answer_then_exit():
    for n in range(5):
        logs.access(timestamp=1764689775.5, request_id=f"last-{n}", method="GET", path="/p",
                    route="/p", status=200, duration_ms=0.1)
    sys.exit(0)  # out of the loop before its next turn

asyncio.new_event_loop().run_until_complete(answer_then_exit())
"""


def test_lines_waiting_for_their_loop_turn_are_written_when_the_process_exits():
    result = subprocess.run(
        [sys.executable, "-c", EXIT_BEFORE_THE_LOOP_WRITES], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["request_id"] for line in result.stderr.splitlines()]
    assert ids == [f"last-{n}" for n in range(5)]
