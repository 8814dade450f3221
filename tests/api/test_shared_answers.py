"""Lists and summaries answered from memory by SharedAnswerMiddleware: only the answer the
route gave for the same question and the same state of the database, and only to callers
the route would have answered."""

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from anyio import from_thread
from starlette.datastructures import QueryParams

from app.api import answer_scopes
from app.api.middleware import answer_cache
from app.api.middleware.answer_cache import AnswerKey, answer_key
from app.clock import FixedClock
from app.db.sessions import session_scope
from app.domain.access import Actor
from app.domain.status import Role
from app.schemas.progress import ProgressUpdateCreate
from app.services import change_scopes
from app.services import recommendations as recommendations_service
from app.services import summaries as summaries_service
from app.services.key_cache import KeyCache
from app.services.keys import LAST_USED_RESOLUTION
from app.services.progress import record_progress
from tests.conftest import check_problem, counted_calls, read_at_once

API = "/api/v1"
ORIGIN = ("http", "testserver", "")
PLANTED = b'{"planted": true}'


# What each route planted on here reads (as app.api.answer_scopes declares it).
READS = {
    f"{API}/summary": answer_scopes.portfolio_figures,
    f"{API}/reports": answer_scopes.portfolio,
    f"{API}/organisations": answer_scopes.organisation_directory,
}
LISTED = {f"{API}/recommendations"}  # across reports: tagged by what it lists, once computed


def _key(session, clock, path: str, query: list[tuple[str, str]] | None = None) -> AnswerKey:
    """The key the middleware uses: the version of the scopes the route reads (as of today)."""
    wanted = READS[path]({}, QueryParams(query or []), True)
    version = change_scopes.answer_version(session.connection(), wanted)
    return answer_key(version, path, query or [], clock.today())


def _plant(app, session, clock, path: str) -> AnswerKey:
    """Replace the stored answer for ``path`` with one the route could never give."""
    store = app.state.answer_store
    if path in LISTED:
        key, stored = store.latest(answer_key(0, path, [], clock.today(), listed=True), ORIGIN)
    else:
        key = _key(session, clock, path)
        stored = store.get(key, ORIGIN)
    assert stored is not None, "the route's answer should have been kept"
    store.put(key, ORIGIN, replace(stored, body=PLANTED))
    return key


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/summary",
        f"{API}/recommendations",
        f"{API}/reports",
        f"{API}/organisations",
    ],
)
def test_the_route_answers_first_then_memory(client, app, session, clock, kirklees, path):
    computed = client.get(path)
    assert computed.status_code == 200
    _plant(app, session, clock, path)
    from_memory = client.get(path)
    assert from_memory.content == PLANTED
    assert from_memory.headers["etag"] == computed.headers["etag"]
    assert from_memory.headers["x-request-id"] != computed.headers["x-request-id"]
    assert client.get(path, headers={"If-None-Match": computed.headers["etag"]}).status_code == 304


def test_a_write_sends_the_next_reader_to_the_route(client, app, session, clock, kirklees):
    path = f"{API}/summary"
    client.get(path)
    old = _plant(app, session, clock, path)
    held = len(app.state.answer_store)
    rec = kirklees["recommendations"]["1.1"]
    written = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"},
    )
    assert written.status_code == 201
    after = client.get(path)
    assert after.status_code == 200 and after.content != PLANTED
    session.rollback()  # a fresh snapshot, with the write in it
    new = _key(session, clock, path)
    assert new.version > old.version
    # The answer of the older state is gone: replaced, not kept beside the new one.
    assert app.state.answer_store.get(old, ORIGIN) is None
    assert app.state.answer_store.get(new, ORIGIN).body == after.content
    assert len(app.state.answer_store) == held


def test_memory_never_answers_a_caller_the_route_would_refuse(
    client, anonymous, app, session, clock, kirklees
):
    path = f"{API}/summary"
    client.get(path)
    key = _plant(app, session, clock, path)
    check_problem(anonymous.get(path), 401)
    check_problem(anonymous.get(path, headers={"If-None-Match": key.etag}), 401)
    check_problem(client.get(path, headers={"Authorization": "Bearer rtk_not_a_key"}), 401)


def test_a_revoked_key_gets_no_answer_from_memory(client, app, session, clock, kirklees, make_key):
    reader = make_key("viewer")
    headers = {"Authorization": f"Bearer {reader}"}
    path = f"{API}/summary"
    assert client.get(path, headers=headers).status_code == 200
    _plant(app, session, clock, path)
    assert client.get(path, headers=headers).content == PLANTED
    key_id = next(
        k["id"]
        for k in client.get(f"{API}/keys", params={"limit": 200}).json()["items"]
        if k["name"] == "test viewer"
    )
    assert client.post(f"{API}/keys/{key_id}/revoke").status_code == 200
    check_problem(client.get(path, headers=headers), 401)


def test_an_invalid_date_is_refused_whatever_is_stored(client, app, session, clock, kirklees):
    path = f"{API}/summary"
    client.get(path)
    _plant(app, session, clock, path)
    check_problem(client.get(path, params={"as_of": "2018-02-30"}), 422)


def test_a_key_due_to_have_its_use_recorded_goes_through_the_route(client, app, session, clock, kirklees):
    path = f"{API}/summary"
    client.get(path)
    _plant(app, session, clock, path)
    assert client.get(path).content == PLANTED
    later = FixedClock(at=clock.at + LAST_USED_RESOLUTION + timedelta(minutes=1))
    app.state.clock = later
    # The same day, so the same key: only the key's use tells memory from the route.
    assert later.today() == clock.today()
    answer = client.get(path)
    # The route records the use, then sends the answer held for the key: no recomputation.
    assert answer.status_code == 200 and answer.content == PLANTED
    listed = client.get(f"{API}/keys", params={"limit": 200}).json()["items"]
    key = next(k for k in listed if k["name"] == "test admin")
    assert key["last_used_at"] == later.at.isoformat().replace("+00:00", "Z")


def test_links_name_the_host_each_client_used(client, kirklees):
    path = f"{API}/recommendations?limit=5"
    first = client.get(path, headers={"Host": "one.example"})
    second = client.get(path, headers={"Host": "two.example"})
    assert "one.example" in first.headers["link"]
    assert "two.example" in second.headers["link"] and "one.example" not in second.headers["link"]


def test_answers_from_memory_are_counted_under_their_route(client, anonymous, kirklees):
    path = f"{API}/summary"
    for _ in range(3):
        client.get(path)
    text = anonymous.get("/metrics").text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('rectrack_http_requests_total{method="GET",route="/api/v1/summary",status="200"}')
    )
    assert float(line.rsplit(" ", 1)[1]) >= 3


def test_readers_asking_at_once_share_one_computation(client, app, served, kirklees, monkeypatch):
    """After a write every poller's key is new: the first computes, the others wait for it."""
    path = f"{API}/summary"
    client.get(path)  # the key is now cached, its use recorded
    rec = kirklees["recommendations"]["1.1"]
    written = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"},
    )
    assert written.status_code == 201
    computed = counted_calls(monkeypatch, summaries_service, "portfolio_summary")
    answers = read_at_once(app, served, path, client.headers)
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.content for a in answers}) == 1
    assert len(computed) == 1


def test_a_key_checked_afresh_gets_the_held_answer_without_a_recomputation(
    client, app, session, clock, kirklees
):
    """Every few seconds a key's cache entry lapses: its next request authenticates in the route,
    which then sends the answer held for the key rather than computing it again."""
    path = f"{API}/summary"
    client.get(path)
    _plant(app, session, clock, path)
    app.state.key_cache = KeyCache()
    assert client.get(path).content == PLANTED


def _writing_while_computing(monkeypatch, app, clock, recommendation: dict, statuses: list[str], then=None):
    """From now on each computation of a list of recommendations is followed, before its answer is
    sent, by a progress update on ``recommendation`` (the next of ``statuses``), committed through
    the service (and ``then()``, if given, after the first): a write lands while every list is
    computed. Answers the statuses written, one a computation."""
    code = recommendation["owners"][0]["code"]
    written: list[str] = []
    real = recommendations_service.list_recommendations

    def computed_while_a_write_lands(*args, **kwargs):
        page = real(*args, **kwargs)
        status = statuses[len(written)]
        with session_scope(app.state.writers_engine) as session:
            update = ProgressUpdateCreate(organisation_code=code, author="a", narrative="n", status=status)
            record_progress(
                session,
                actor=Actor(role=Role.ADMIN),
                recommendation_id=recommendation["id"],
                data=update,
                today=clock.today(),
                now=clock.now(),
            )
        written.append(status)
        if then is not None and len(written) == 1:
            then()
        return page

    monkeypatch.setattr(recommendations_service, "list_recommendations", computed_while_a_write_lands)
    return written


def _open_recommendation(client, kirklees) -> dict:
    """A recommendation with one owner, neither done nor closed, reported in progress just now."""
    rec = next(
        r
        for r in kirklees["recommendations"].values()
        if len(r["owners"]) == 1 and r["status"] in ("not_started", "in_progress")
    )
    posted = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={
            "author": "a",
            "narrative": "n",
            "status": "in_progress",
            "organisation_code": rec["owners"][0]["code"],
        },
    )
    assert posted.status_code == 201
    return rec


def _status_in(answer, rec: dict) -> str:
    return next(item["status"] for item in answer.json()["items"] if item["id"] == rec["id"])


def test_readers_who_asked_before_a_computation_began_take_its_answer(
    client, app, served, clock, kirklees, monkeypatch
):
    """While writes land faster than a list computes, a computation answers every reader who asked
    before it began (it read every write answered before they asked), written to meanwhile or not:
    eight readers cost at most two computations, not one each."""
    path = f"{API}/recommendations"
    client.get(path)  # the key is cached, its use recorded
    rec = _open_recommendation(client, kirklees)
    written = _writing_while_computing(monkeypatch, app, clock, rec, ["not_started", "in_progress"] * 4)
    answers = read_at_once(app, served, path, client.headers)
    assert [a.status_code for a in answers] == [200] * 8
    assert 1 <= len(written) <= 2
    assert len({a.content for a in answers}) == len(written)


def test_a_reader_who_asked_after_a_write_never_takes_an_answer_computed_before_it(
    client, app, served, clock, kirklees, monkeypatch
):
    """A reader who asks while a list is being computed, after a write that computation did not
    read, waits for it but is then answered with the write."""
    path = f"{API}/recommendations"
    client.get(path)
    rec = _open_recommendation(client, kirklees)
    arrived = threading.Event()
    real_key = answer_cache.answer_key

    def noting_arrivals(*args, **kwargs):
        arrived.set()
        return real_key(*args, **kwargs)

    later: list = []

    async def ask_and_wait_until_asked() -> None:
        transport = httpx.ASGITransport(app=app)
        client_b = httpx.AsyncClient(transport=transport, base_url="http://testserver")

        async def ask() -> None:
            async with client_b:
                later.append(await client_b.get(path, headers=client.headers))

        arrived.clear()
        later.append(asyncio.get_running_loop().create_task(ask()))
        while not arrived.is_set():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)  # on to its wait for the computation under way

    def second_reader_asks() -> None:  # in the computation's worker thread, after the first write
        from_thread.run(ask_and_wait_until_asked)

    monkeypatch.setattr(answer_cache, "answer_key", noting_arrivals)
    written = _writing_while_computing(
        monkeypatch, app, clock, rec, ["not_started", "in_progress"], then=second_reader_asks
    )
    first = client.get(path)

    async def second_answer() -> None:
        await later[0]

    served.portal.call(second_answer)
    assert first.status_code == 200 and later[1].status_code == 200
    assert _status_in(first, rec) == "in_progress"  # computed before the first write landed
    assert written[0] == "not_started"
    assert _status_in(later[1], rec) == "not_started"  # asked after it: answered with it


def _read_at_once_through_a_busy_transport(app, served, path: str, headers, readers: int = 8) -> list:
    """``readers`` GETs of ``path`` at once, each answer sent through a transport that makes the
    sender wait for the loop at every message, as a server's does when its sockets are busy.
    Answers (status, body) pairs."""

    async def one() -> tuple[int, bytes]:
        messages: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            await asyncio.sleep(0)
            messages.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *((k.encode(), v.encode()) for k, v in headers.items())],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        return messages[0]["status"], b"".join(m.get("body", b"") for m in messages[1:])

    async def together() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(one() for _ in range(readers)))

    return served.portal.call(together)


def test_readers_asking_at_once_for_one_detail_all_get_it(client, app, served, kirklees):
    """A detail is read before routing (on PostgreSQL over a round trip, so readers asking at once
    are all reading it together): each gets it, whichever of them registers its computation."""
    rec = _open_recommendation(client, kirklees)
    path = f"{API}/recommendations/{rec['id']}"
    answers = _read_at_once_through_a_busy_transport(app, served, path, client.headers)
    assert [status for status, _ in answers] == [200] * 8
    assert len({body for _, body in answers}) == 1
