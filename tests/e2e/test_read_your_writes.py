"""Read your writes across worker processes, through the real server.

Each uvicorn worker keeps its own cached answers (SharedAnswerMiddleware). After a write is
answered 2xx, a read through any worker must reflect it: the written recommendation, its
report, its owner, the portfolio summary and the overdue page across reports, each read through
every worker. The cached answers about an unrelated report, organisation and recommendation
keep their ETags in every worker: the write did not touch them. A write that moves no figure
leaves the portfolio summary's and the overdue page's tags alone in every worker, unless it
is on a recommendation the page lists.

Which worker answered a read is told from the operating system: the worker process holding the
server's end of the read's TCP connection (Linux /proc).
"""

import http.client
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bench.procfs import worker_pids

WORKERS = 3
OVERDUE = "/api/v1/recommendations?overdue=true&sort=days_overdue&limit=5"
ATTEMPTS = 400  # new connections tried before deciding a worker never answers
Check = Callable[[int, dict[str, str], bytes], None]


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def _holder(inode: str, pids: set[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if fd.readlink().as_posix() == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Workers:
    """Reads through each worker of a server, on new connections, until every worker has answered."""

    def __init__(self, server) -> None:
        self.server = server
        self.host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.pids = worker_pids(server.process.pid)

    def _read_once(self, path: str, headers: dict[str, str]) -> tuple[int | None, int, dict, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("GET", path, headers={**self.server.headers, **headers})
            response = connection.getresponse()
            body = response.read()
            # The connection is still open (keep-alive): its server end is in the worker that answered.
            inode = _socket_inode(self.port, connection.sock.getsockname()[1])
            pid = _holder(inode, self.pids) if inode else None
            return pid, response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            connection.close()

    def each(self, path: str, check: Check, headers: dict[str, str] | None = None) -> dict[int, dict]:
        """``check`` on a read of ``path`` answered by each worker; the headers each worker sent."""
        seen: dict[int, dict] = {}
        for _ in range(ATTEMPTS):
            pid, status, answer_headers, body = self._read_once(path, headers or {})
            if pid is None or pid in seen:
                continue
            check(status, answer_headers, body)
            seen[pid] = answer_headers
            if seen.keys() == self.pids:
                return seen
        missing = sorted(self.pids - seen.keys())
        # A worker the server replaced (crashed, or failed its health check) answers under a new pid.
        now = sorted(worker_pids(self.server.process.pid))
        pytest.fail(
            f"workers {missing} answered none of {ATTEMPTS} reads of {path}; the server's workers "
            f"now: {now}; its log ends:\n{self.server.log()[-3000:]}"
        )


def _ok(status: int, _headers: dict, body: bytes) -> None:
    assert status == 200, body


def _not_modified(status: int, _headers: dict, body: bytes) -> None:
    assert status == 304, (status, body)


def _json(server, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, server.url(path), headers=server.headers, timeout=30, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _progress(server, recommendation_id: int, code: str, status: str) -> None:
    posted = httpx.post(
        server.url(f"/api/v1/recommendations/{recommendation_id}/progress-updates"),
        json={"author": "e2e", "narrative": "n", "status": status, "organisation_code": code},
        headers=server.headers,
        timeout=30,
    )
    assert posted.status_code == 201, posted.text


def _one_etag(answered: dict[int, dict]) -> str:
    """The ETag every worker gave: one state of the database, one tag."""
    etags = {headers["etag"] for headers in answered.values()}
    assert len(etags) == 1, etags
    return etags.pop()


def _owner_counts(summary: dict, code: str) -> dict[str, int]:
    return next(o["by_status"] for o in summary["organisations"] if o["code"] == code)


@pytest.fixture
def server(start_live_server):
    if not Path("/proc/net/tcp").exists():  # pragma: no cover - not Linux
        pytest.skip("telling the workers apart needs Linux /proc")
    server = start_live_server(workers=WORKERS)
    assert len(worker_pids(server.process.pid)) == WORKERS
    return server


def test_a_write_is_read_through_every_worker_and_spares_unrelated_answers(server):
    api = "/api/v1"
    leeds = _json(
        server, "POST", f"{api}/organisations", json={"code": "LTHT", "name": "Leeds", "kind": "nhs_trust"}
    )
    other_report = _json(
        server,
        "POST",
        f"{api}/reports",
        json={
            "slug": "wakefield-clas-2015",
            "title": "Wakefield review",
            "regulator": "Care Quality Commission",
            "published_date": "2015-12-18",
            "action_plan_organisations": ["LTHT"],
        },
    )
    other = _json(
        server,
        "POST",
        f"{api}/reports/{other_report['id']}/recommendations",
        json={"ref": "1", "text": "Review the records.", "owners": ["LTHT"]},
    )
    kirklees = _json(
        server, "GET", f"{api}/recommendations", params={"organisation_id": "MYHT", "limit": 200}
    )
    written = next(r for r in kirklees["items"] if r["ref"] == "1.1")
    myht = next(o for o in written["owners"] if o["code"] == "MYHT")
    new_status = "not_started" if myht["status"] == "in_progress" else "in_progress"

    workers = Workers(server)
    paths = {
        "recommendation": f"{api}/recommendations/{written['id']}",
        "report": f"{api}/reports/{written['report_id']}/summary",
        "organisation": f"{api}/organisations/{myht['organisation_id']}/summary",
        "portfolio": f"{api}/summary",
        "overdue": OVERDUE,
    }
    unrelated = {
        "recommendation": f"{api}/recommendations/{other['id']}",
        "report": f"{api}/reports/{other_report['id']}/summary",
        "report list": f"{api}/reports/{other_report['id']}/recommendations",
        "organisation": f"{api}/organisations/{leeds['id']}/summary",
    }
    # Every worker computes and keeps every answer first.
    before = {
        name: json.loads(httpx.get(server.url(p), headers=server.headers).content)
        for name, p in paths.items()
    }
    etags_before = {name: workers.each(path, _ok) for name, path in paths.items()}
    unrelated_etags = {}
    for name, path in unrelated.items():
        etags = {h["etag"] for h in workers.each(path, _ok).values()}
        assert len(etags) == 1, (name, etags)  # one state of the database, one tag, in every worker
        unrelated_etags[name] = etags.pop()

    posted = httpx.post(
        server.url(f"{api}/recommendations/{written['id']}/progress-updates"),
        json={"author": "e2e", "narrative": "n", "status": new_status, "organisation_code": "MYHT"},
        headers=server.headers,
        timeout=30,
    )
    assert posted.status_code == 201, posted.text

    def reflects(name: str) -> Check:
        def check(status: int, headers: dict, body: bytes) -> None:
            assert status == 200, (name, body)
            answer = json.loads(body)
            if name == "recommendation":
                assert next(o for o in answer["owners"] if o["code"] == "MYHT")["status"] == new_status
            elif name == "overdue":
                item = next(i for i in answer["items"] if i["id"] == written["id"])
                assert next(o for o in item["owners"] if o["code"] == "MYHT")["status"] == new_status
            elif name == "organisation":
                assert answer["by_status"][new_status] == before[name]["by_status"][new_status] + 1
            else:
                counts, was = _owner_counts(answer, "MYHT"), _owner_counts(before[name], "MYHT")
                assert counts[new_status] == was[new_status] + 1, name

        return check

    for name, path in paths.items():
        old = {h["etag"] for h in etags_before[name].values()}
        # A client holding the old tag gets the new answer, from whichever worker it reaches.
        workers.each(path, reflects(name), headers={"If-None-Match": ", ".join(old)})
    for name, path in unrelated.items():
        workers.each(path, _not_modified, headers={"If-None-Match": unrelated_etags[name]})

    # Writes that move no figure: the same status again.
    figures = {"portfolio": paths["portfolio"], "overdue": OVERDUE}
    kept = {name: _one_etag(workers.each(path, _ok)) for name, path in figures.items()}
    listed = {i["id"] for i in _json(server, "GET", OVERDUE)["items"]}
    unlisted, code, status = next(
        (r, o["code"], o["status"])
        for r in kirklees["items"]
        if r["id"] not in listed and r["overdue"]
        for o in r["owners"]
        if o["status"] in ("not_started", "in_progress")
    )
    _progress(server, unlisted["id"], code, status)
    for name, path in figures.items():
        workers.each(path, _not_modified, headers={"If-None-Match": kept[name]})
    _progress(server, written["id"], "MYHT", new_status)  # listed on the page
    workers.each(paths["portfolio"], _not_modified, headers={"If-None-Match": kept["portfolio"]})
    moved = _one_etag(workers.each(OVERDUE, _ok, headers={"If-None-Match": kept["overdue"]}))
    assert moved != kept["overdue"]
