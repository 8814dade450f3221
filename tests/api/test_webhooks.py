"""Webhook endpoints through the API, and the fan-out and claims the worker relies on."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from app.api.deps import get_settings
from app.clock import FixedClock
from app.models import WebhookDelivery, WebhookMessage
from app.services import webhook_secrets, webhooks
from tests.conftest import check_problem

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def hooks(app, client, settings, seeded):
    local = settings.model_copy(update={"webhook_allowed_networks": "127.0.0.0/8"})
    app.dependency_overrides[get_settings] = lambda: local
    client.local_settings = local
    return client


def _create(client, **fields):
    response = client.post("/api/v1/webhooks", json={"url": HOOK, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_endpoint_is_created_with_a_secret_shown_once_and_stored_encrypted(hooks, session, settings):
    created = _create(hooks, description="CCG dashboard", event_types=["report.created", "report.created"])
    assert created["event_types"] == ["report.created"]
    assert created["secret"].startswith("whsec_")
    assert len(Webhook(created["secret"])._whsecret) == 32
    read = hooks.get(f"/api/v1/webhooks/{created['id']}")
    assert read.status_code == 200 and "secret" not in read.json() and read.headers["etag"]
    assert "secret" not in hooks.get("/api/v1/webhooks").json()["items"][0]
    stored = (
        session.connection()
        .execute(text("SELECT secret_encrypted FROM webhook_endpoint WHERE id = :id"), {"id": created["id"]})
        .scalar_one()
    )
    assert created["secret"] not in stored
    assert webhook_secrets.decrypt(stored, secret_key=settings.key_secret) == created["secret"]
    with pytest.raises(Exception):  # noqa: B017 - another server secret cannot read it
        webhook_secrets.decrypt(stored, secret_key="another secret key of at least 32 chars")
    events = hooks.get("/api/v1/audit-events", params={"entity": "webhook_endpoint"}).json()["items"]
    assert events[0]["action"] == "create" and created["secret"] not in str(events[0])


def test_changes_need_if_match_and_are_audited(hooks):
    created = _create(hooks)
    url = f"/api/v1/webhooks/{created['id']}"
    check_problem(hooks.patch(url, json={"description": "x"}), 428)
    check_problem(hooks.patch(url, json={"description": "x"}, headers={"If-Match": '"99.20180702"'}), 412)
    changed = hooks.patch_fresh(url, json={"description": "new", "event_types": ["evidence_link.created"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "new" and changed.json()["event_types"] == [
        "evidence_link.created"
    ]
    assert hooks.patch_fresh(url, json={"disabled": True}).json()["disabled_at"]
    assert hooks.patch_fresh(url, json={"disabled": False}).json()["disabled_at"] is None
    check_problem(hooks.patch_fresh(url, json={"url": "http://10.0.0.1/"}), 422, code="webhook_url_refused")
    assert hooks.delete(url).status_code == 204
    check_problem(hooks.get(url), 404)
    actions = [
        e["action"]
        for e in hooks.get("/api/v1/audit-events", params={"entity": "webhook_endpoint"}).json()["items"]
    ]
    assert actions == ["delete", "update", "update", "update", "create"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://10.0.0.1/hook"}, "webhook_url_refused"),
        ({"url": "http://169.254.169.254/"}, "webhook_url_refused"),
        ({"url": "gopher://127.0.0.1/"}, "webhook_url_refused"),
        ({"url": "http://\u0430pple.com/hook"}, "webhook_url_refused"),
        ({"url": "http://127.0.0.1:9/\u202ehook"}, "webhook_url_refused"),
        ({"url": HOOK, "event_types": ["report.deleted"]}, "validation_error"),
        ({"url": HOOK, "report_id": 999}, "unknown_report"),
    ],
)
def test_refusals_are_problems(hooks, body, code):
    check_problem(hooks.post("/api/v1/webhooks", json=body), 422, code=code)


def test_only_admins(hooks, auth, anonymous):
    check_problem(hooks.get("/api/v1/webhooks", headers=auth("viewer")), 403)
    check_problem(hooks.post("/api/v1/webhooks", json={"url": HOOK}, headers=auth("assurer")), 403)
    check_problem(anonymous.get("/api/v1/webhooks"), 401)


def _recommendation(client, index: int) -> dict:
    """The seeded review's ``index``-th recommendation (ids differ between engines)."""
    return client.get("/api/v1/recommendations", params={"limit": 10}).json()["items"][index]


def _progress(client, recommendation_id, code):
    response = client.post(
        f"/api/v1/recommendations/{recommendation_id}/progress-updates",
        json={"organisation_code": code, "author": "Lead", "narrative": "Started.", "status": "in_progress"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_fan_out_follows_filters_and_a_rotation_signs_with_both_secrets(hooks, session, clock):
    settings = hooks.local_settings
    recommendation = _recommendation(hooks, 0)
    owner = recommendation["owners"][0]
    other = hooks.get("/api/v1/organisations", params={"limit": 200}).json()["items"]
    stranger = next(
        o for o in other if o["id"] not in {w["organisation_id"] for w in recommendation["owners"]}
    )
    webhooks.fan_out(session, now=clock.now())  # the seed's changes, before any endpoint
    everything = _create(hooks)
    mine = _create(hooks, organisation_id=owner["organisation_id"], event_types=["progress_update.created"])
    theirs = _create(hooks, organisation_id=stranger["id"])
    update = _progress(hooks, recommendation["id"], owner["code"])
    rotated = hooks.post(f"/api/v1/webhooks/{mine['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    assert webhooks.fan_out(session, now=clock.now()) >= 1

    def deliveries(endpoint):
        return hooks.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]

    assert {d["event_type"] for d in deliveries(everything)} == {
        "progress_update.created",
        "recommendation.status_changed",
    }
    assert [d["event_type"] for d in deliveries(mine)] == ["progress_update.created"]
    assert deliveries(theirs) == []
    assert webhooks.fan_out(session, now=clock.now()) == 0  # the cursor moved on

    lease = timedelta(seconds=settings.worker_lease_seconds)
    webhooks.hold_lease(session, worker_id="w1", now=clock.now(), lease=lease, single=False)
    jobs = webhooks.claim_due(session, worker_id="w1", now=clock.now(), settings=settings, limit=10)
    assert {j.endpoint_id for j in jobs} == {everything["id"], mine["id"]}
    # Claimed by a live worker: not another's; once its lease has run out, free again.
    assert webhooks.claim_due(session, worker_id="w2", now=clock.now(), settings=settings) == []
    assert len(webhooks.claim_due(session, worker_id="w2", now=clock.now() + lease, settings=settings)) == 3
    job = next(j for j in jobs if j.endpoint_id == mine["id"])
    assert len(job.secrets) == 2
    header = webhook_secrets.signature_header(
        secrets_=job.secrets, message_id=job.message_id, timestamp=clock.now(), body=job.body
    )
    headers = {
        "webhook-id": job.message_id,
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": header,
    }
    for secret in (mine["secret"], rotated.json()["secret"]):
        assert Webhook(secret)._whsecret  # both secrets verify the one delivery
        verify_at = Webhook(secret)
        verify_at.verify.__func__  # noqa: B018
        expected = verify_at.sign(job.message_id, clock.now(), job.body)
        assert expected in header.split()
    assert len(header.split()) == 2 and headers["webhook-signature"] == header

    # After the overlap only the new secret signs. (w2's lease never began: w1's claims stand.)
    later = clock.now() + timedelta(hours=settings.webhook_secret_overlap_hours, seconds=1)
    result = webhooks.AttemptResult(clock.now(), 5, status_code=503)
    webhooks.record_attempt(
        session, job=job, worker_id="w1", result=result, settings=settings, now=clock.now()
    )
    [again] = [
        j
        for j in webhooks.claim_due(session, worker_id="w1", now=later, settings=settings)
        if j.delivery_id == job.delivery_id
    ]
    assert again.secrets == [rotated.json()["secret"]] and again.message_id == job.message_id
    assert json.loads(again.body)["data"]["progress_update_id"] == update["id"]


def test_a_410_disables_the_endpoint_with_an_audit_event(hooks, session, clock):
    webhooks.fan_out(session, now=clock.now())
    endpoint = _create(hooks, event_types=["progress_update.created"])
    recommendation = _recommendation(hooks, 1)
    _progress(hooks, recommendation["id"], recommendation["owners"][0]["code"])
    webhooks.fan_out(session, now=clock.now())
    [job] = webhooks.claim_due(session, worker_id="w1", now=clock.now(), settings=hooks.local_settings)
    result = webhooks.AttemptResult(clock.now(), 3, status_code=410)
    webhooks.record_attempt(
        session, job=job, worker_id="w1", result=result, settings=hooks.local_settings, now=clock.now()
    )
    read = hooks.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert read["disabled_at"] and "410" in read["disabled_reason"]
    assert (
        hooks.get("/api/v1/audit-events", params={"entity": "webhook_endpoint"}).json()["items"][0]["action"]
        == "disable"
    )
    check_problem(
        hooks.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{job.delivery_id}/redeliver"),
        422,
        code="webhook_endpoint_disabled",
    )


def test_a_single_worker_database_refuses_a_second_live_worker(session, clock):
    lease = timedelta(seconds=10)
    webhooks.hold_lease(session, worker_id="first", now=clock.now(), lease=lease, single=True)
    with pytest.raises(webhooks.AnotherWorkerRuns):
        webhooks.hold_lease(session, worker_id="second", now=clock.now(), lease=lease, single=True)
    webhooks.hold_lease(session, worker_id="first", now=clock.now() + lease / 2, lease=lease, single=True)
    # Once the first's lease runs out unrenewed (it was killed), the second takes over.
    webhooks.hold_lease(session, worker_id="second", now=clock.now() + lease * 2, lease=lease, single=True)


def test_a_changed_server_secret_fails_the_delivery_unsent(hooks, session, clock):
    from app.worker.sender import send

    webhooks.fan_out(session, now=clock.now())
    _create(hooks, event_types=["progress_update.created"])
    recommendation = _recommendation(hooks, 2)
    _progress(hooks, recommendation["id"], recommendation["owners"][0]["code"])
    webhooks.fan_out(session, now=clock.now())
    other = hooks.local_settings.model_copy(
        update={"secret_key": SecretStr("another server secret of 32+ characters!!")}
    )
    [job] = webhooks.claim_due(session, worker_id="w1", now=clock.now(), settings=other)
    assert job.secrets == []
    result = send(job, timeout=10, allowed=other.allowed_networks, clock=clock)
    assert result.status_code is None and "rotate" in result.error


def test_a_new_endpoint_starts_after_the_event_of_its_creation_not_at_a_time(hooks, app, session, clock):
    """Timestamps tie (a stopped clock) or run backwards (a clock set back); event ids do neither."""
    recommendation = _recommendation(hooks, 0)
    code = recommendation["owners"][0]["code"]
    webhooks.fan_out(session, now=clock.now())  # the seed's changes, before any endpoint
    before = _progress(hooks, recommendation["id"], code)  # committed just before, at the same instant
    endpoint = _create(hooks, event_types=["progress_update.created"])
    app.state.clock = FixedClock(at=clock.now() - timedelta(hours=1))  # the clock was set back
    after = _progress(hooks, recommendation["id"], code)  # committed just after, an hour "earlier"
    webhooks.fan_out(session, now=clock.now())
    delivered = hooks.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
    bodies = [
        json.loads(session.get(WebhookMessage, int(d["message_id"].removeprefix("msg_"))).body)
        for d in delivered
    ]
    assert [b["data"]["progress_update_id"] for b in bodies] == [after["id"]], (before["id"], bodies)


def test_an_endpoint_keeps_its_url_normalised(hooks):
    created = _create(hooks, url="HTTP://127.0.0.1:9/caf\u00e9")
    assert created["url"] == "http://127.0.0.1:9/caf%C3%A9"


@pytest.fixture
def scripted_receiver():
    """A real HTTP server on 127.0.0.1 answering each POST with the next scripted
    (status, headers), and recording the paths it was asked for."""
    script: list[tuple[int, dict[str, str]]] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            paths.append(self.path)
            status, headers = script.pop(0) if script else (204, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script, paths
    server.shutdown()
    server.server_close()


def test_retry_after_is_honoured_redirects_are_not_followed_and_five_days_of_failures_disable(
    hooks, session, clock, scripted_receiver
):
    from app.worker.sender import send

    url, script, paths = scripted_receiver
    settings = hooks.local_settings
    webhooks.fan_out(session, now=clock.now())
    endpoint = _create(hooks, url=f"{url}/hook", event_types=["progress_update.created"])
    recommendation = _recommendation(hooks, 3)
    _progress(hooks, recommendation["id"], recommendation["owners"][0]["code"])
    webhooks.fan_out(session, now=clock.now())
    script += [(503, {"Retry-After": "120"}), (302, {"Location": f"{url}/elsewhere"}), (500, {})]

    def attempt(now):
        [job] = webhooks.claim_due(session, worker_id="w1", now=now, settings=settings)
        result = send(job, timeout=10, allowed=settings.allowed_networks, clock=FixedClock(at=now))
        webhooks.record_attempt(session, job=job, worker_id="w1", result=result, settings=settings, now=now)
        session.expire_all()  # read what was committed
        return result, session.get(WebhookDelivery, job.delivery_id)

    first, delivery = attempt(clock.now())
    assert first.status_code == 503 and first.retry_after == "120"
    # The schedule says about 5 s; the receiver asked for 2 minutes.
    assert delivery.state == "pending" and delivery.next_attempt_at == clock.now() + timedelta(seconds=120)
    too_soon = clock.now() + timedelta(seconds=119)
    assert webhooks.claim_due(session, worker_id="w1", now=too_soon, settings=settings) == []

    second, delivery = attempt(clock.now() + timedelta(seconds=120))
    assert second.status_code == 302 and delivery.state == "pending"  # a redirect is a failure
    assert paths == ["/hook", "/hook"]  # and was not followed

    five_days_on = clock.now() + timedelta(days=5)
    third, delivery = attempt(five_days_on)
    assert third.status_code == 500 and delivery.state == "failed"
    read = hooks.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert read["disabled_at"] and read["disabled_reason"] == "five days of failed deliveries"
    events = hooks.get("/api/v1/audit-events", params={"entity": "webhook_endpoint"}).json()["items"]
    assert events[0]["action"] == "disable"
