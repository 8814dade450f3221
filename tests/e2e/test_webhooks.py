"""Webhooks end to end: the real API (uvicorn), real `rectrack worker` processes and a
receiver on 127.0.0.1, on the engine the suite runs on."""

import os
import signal
import threading
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import fresh_live_database, prepare_database, run_live_server
from tests.e2e.webhook_parts import WORKER_ENV, run_receiver, run_worker, verify

ON_POSTGRES = bool(os.environ.get("RECTRACK_TEST_POSTGRES_URL"))
CHANGES = ["progress_update.created", "recommendation.status_changed", "evidence_link.created"]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("webhooks")
    with fresh_live_database(folder) as url:
        headers = prepare_database(url)
        with run_live_server(url, folder, headers=headers, env=WORKER_ENV) as server:
            server.folder = folder
            yield server


@pytest.fixture
def receiver():
    with run_receiver() as receiver:
        yield receiver


def _client(api) -> httpx.Client:
    return httpx.Client(base_url=api.url("/api/v1"), headers=api.headers, timeout=30)


def _register(api, receiver, **fields) -> dict:
    with _client(api) as client:
        response = client.post("/webhooks", json={"url": receiver.url, "event_types": CHANGES, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _report_progress(api, recommendation_id: int, status: str = "in_progress") -> dict:
    with _client(api) as client:
        recommendation = client.get(f"/recommendations/{recommendation_id}").json()
        owner = recommendation["owners"][0]["code"]
        response = client.post(
            f"/recommendations/{recommendation_id}/progress-updates",
            json={
                "organisation_code": owner,
                "author": "Named nurse",
                "narrative": "Audit done.",
                "status": status,
            },
        )
    assert response.status_code == 201, response.text
    return response.json()


def _deliveries(api, endpoint_id: int) -> list[dict]:
    with _client(api) as client:
        response = client.get(f"/webhooks/{endpoint_id}/deliveries", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _disable(api, endpoint: dict) -> None:
    with _client(api) as client:
        etag = client.get(f"/webhooks/{endpoint['id']}").headers["etag"]
        response = client.patch(
            f"/webhooks/{endpoint['id']}", json={"disabled": True}, headers={"If-Match": etag}
        )
    assert response.status_code == 200, response.text


def test_a_change_arrives_signed_once_with_its_context(api, receiver):
    endpoint = _register(api, receiver, description="signature check")
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and 24 <= len(Webhook(secret)._whsecret) <= 64
    with run_worker(api.database_url, api.folder):
        update = _report_progress(api, 3)
        got = receiver.wait_for(
            lambda seen: (
                {r.json()["type"] for r in seen}
                >= {"progress_update.created", "recommendation.status_changed"}
            ),
            "the progress update's events",
        )
    for received in got:
        verify(received, secret)  # written from the spec
        Webhook(secret).verify(received.body, received.headers)  # and the library's verifier
        with pytest.raises(Exception):  # noqa: B017 - any failure: a forged body must not verify
            verify(type(received)(received.headers, received.body + b" "), secret)
    created = next(r for r in got if r.json()["type"] == "progress_update.created").json()
    assert created["data"]["progress_update_id"] == update["id"]
    assert created["data"]["recommendation"]["id"] == 3 and created["data"]["recommendation"]["ref"]
    assert created["data"]["report"]["slug"] == "kirklees-clas-2018"
    assert created["data"]["organisation"]["code"] == update["organisation_code"]
    assert len({r.id for r in got}) == len(got)
    log = _deliveries(api, endpoint["id"])
    assert {d["state"] for d in log} == {"succeeded"}
    assert all(d["attempt_log"][0]["status_code"] == 204 for d in log)
    _disable(api, endpoint)


def test_a_delivery_is_retried_after_a_500_and_logged(api, receiver):
    receiver.answers.append(lambda: 500)
    endpoint = _register(api, receiver, event_types=["evidence_link.created"])
    with run_worker(api.database_url, api.folder), _client(api) as client:
        owner = client.get("/recommendations/4").json()["owners"][0]["code"]
        response = client.post(
            "/recommendations/4/evidence-links",
            json={"organisation_code": owner, "url": "https://example.org/audit.pdf", "title": "Audit"},
        )
        assert response.status_code == 201, response.text
        got = receiver.wait_for(lambda seen: len(seen) >= 2, "the retry")
        deadline = time.monotonic() + 30
        while (log := _deliveries(api, endpoint["id"]))[0][
            "state"
        ] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert got[0].id == got[1].id  # the same webhook-id on the retry
    [delivery] = log
    assert delivery["state"] == "succeeded" and delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 204]
    assert all(a["duration_ms"] >= 0 for a in delivery["attempt_log"])

    with _client(api) as client:  # redelivery: again, with the same id, and audited
        response = client.post(f"/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
        assert response.status_code == 202, response.text
        audit = client.get(
            "/audit-events", params={"entity": "webhook_delivery", "entity_id": delivery["id"]}
        )
        assert audit.json()["items"][0]["action"] == "redeliver"
    with run_worker(api.database_url, api.folder):
        again = receiver.wait_for(lambda seen: len(seen) >= 3, "the redelivery")
    assert again[2].id == got[0].id
    metrics = httpx.get(api.url("/metrics"), timeout=30).text
    figures = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line.startswith("rectrack_webhook"))
    assert float(figures['rectrack_webhook_deliveries{state="succeeded"}']) >= 1
    assert float(figures["rectrack_webhook_oldest_pending_delivery_age_seconds"]) >= 0
    _disable(api, endpoint)


def test_a_worker_killed_mid_delivery_loses_nothing(api, receiver):
    arrived, release = threading.Event(), threading.Event()

    def hang() -> int:
        arrived.set()
        release.wait(30)
        return 204

    receiver.answers.append(hang)
    endpoint = _register(api, receiver, event_types=["progress_update.created"])
    with run_worker(api.database_url, api.folder) as first:
        _report_progress(api, 5)
        assert arrived.wait(30), "the first attempt never arrived"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    release.set()
    with run_worker(api.database_url, api.folder):
        got = receiver.wait_for(lambda seen: len(seen) >= 2, "the delivery after the kill")
        deadline = time.monotonic() + 30
        while _deliveries(api, endpoint["id"])[0]["state"] != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert got[0].id == got[1].id
    assert _deliveries(api, endpoint["id"])[0]["state"] == "succeeded"
    _disable(api, endpoint)


def test_an_api_killed_after_a_change_loses_no_event(api, receiver, tmp_path):
    endpoint = _register(api, receiver, event_types=["progress_update.created"])
    with run_live_server(api.database_url, tmp_path, headers=api.headers, env=WORKER_ENV) as second:
        update = _report_progress(second, 6)
        os.killpg(second.process.pid, signal.SIGKILL)
    with run_worker(api.database_url, api.folder):
        got = receiver.wait_for(lambda seen: len(seen) >= 1, "the event of the killed API's change")
    assert got[0].json()["data"]["progress_update_id"] == update["id"]
    _disable(api, endpoint)


def test_two_workers_send_each_delivery_once(api, receiver):
    endpoint = _register(api, receiver, event_types=["progress_update.created"])
    with run_worker(api.database_url, api.folder), run_worker(api.database_url, api.folder):
        ids = [_report_progress(api, recommendation)["id"] for recommendation in range(7, 19)]
        receiver.wait_for(lambda seen: len(seen) >= len(ids), "every delivery")
        time.sleep(1.5)  # time enough for a second send of any of them to arrive
    sent = [r.json()["data"]["progress_update_id"] for r in receiver.received]
    assert sorted(sent) == sorted(ids)
    _disable(api, endpoint)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.1.1/hook",
        "ftp://example.org/hook",
        "http://user:pw@127.0.0.1/hook",
    ],
)
def test_private_and_odd_urls_are_refused(api, url):
    with _client(api) as client:
        response = client.post("/webhooks", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "webhook_url_refused"


def test_the_address_is_checked_again_when_sending(api, receiver):
    # Registered while loopback was allowed; the worker no longer allows it.
    endpoint = _register(api, receiver, event_types=["progress_update.created"])
    with run_worker(api.database_url, api.folder, env={"RECTRACK_WEBHOOK_ALLOWED_NETWORKS": ""}):
        _report_progress(api, 20)
        deadline = time.monotonic() + 60
        while (log := _deliveries(api, endpoint["id"])) == [] or log[0]["state"] == "pending":
            assert time.monotonic() < deadline, log
            time.sleep(0.2)
    [delivery] = log
    assert delivery["state"] == "failed" and delivery["attempts"] == 4  # the test schedule's four
    assert all(a["error"].startswith("refused") and a["status_code"] is None for a in delivery["attempt_log"])
    assert receiver.received == []
    _disable(api, endpoint)
