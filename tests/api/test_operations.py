"""Liveness, readiness, metrics and logs: what an operator watches."""

import gc
import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient

from app.config import GIL_SWITCH_INTERVAL_S, YOUNG_OBJECTS_A_COLLECTION
from app.db.migrations import head_revision


def test_healthz_needs_nothing(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_schema_revision(anonymous):
    body = anonymous.get("/readyz").json()
    assert body["status"] == "ready" and body["revision"] == head_revision()


def test_metrics_are_labelled_by_route_template(client, kirklees, anonymous):
    client.get(f"/api/v1/reports/{kirklees['report']['id']}")
    text = anonymous.get("/metrics").text
    assert (
        'rectrack_http_requests_total{method="GET",route="/api/v1/reports/{report_id}",status="200"}' in text
    )
    assert "rectrack_http_request_duration_seconds_bucket" in text
    assert '/api/v1/reports/1"' not in text  # ids never become labels


def test_a_head_is_logged_and_counted_as_head_on_the_route_its_get_matched(
    client, kirklees, anonymous, caplog
):
    path = f"/api/v1/reports/{kirklees['report']['id']}"
    with caplog.at_level(logging.INFO, logger="rectrack.access"):
        response = client.request("HEAD", path)
    assert response.status_code == 200 and response.headers["etag"] == client.get(path).headers["etag"]
    record = next(r for r in caplog.records if r.name == "rectrack.access")
    assert (record.fields["method"], record.fields["route"]) == ("HEAD", "/api/v1/reports/{report_id}")
    text = anonymous.get("/metrics").text
    assert (
        'rectrack_http_requests_total{method="HEAD",route="/api/v1/reports/{report_id}",status="200"}' in text
    )


def test_access_log_is_json_with_the_request_id(client, seeded, caplog):
    with caplog.at_level(logging.INFO, logger="rectrack.access"):
        client.get("/api/v1/reports", headers={"X-Request-ID": "trace-42"})
    record = next(r for r in caplog.records if r.name == "rectrack.access")
    fields = record.fields
    assert fields["request_id"] == "trace-42" and fields["status"] == 200
    assert fields["route"] == "/api/v1/reports"
    from app.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-42" and line["level"] == "info"


def test_a_serving_process_hands_the_gil_to_a_waiting_writer_within_a_millisecond(app):
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    try:
        with TestClient(app):  # runs the lifespan, as every uvicorn worker does
            assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_INTERVAL_S) == 0.001
    finally:
        sys.setswitchinterval(before)


def test_a_serving_process_keeps_what_it_started_with_out_of_the_collectors_passes(app):
    before = gc.get_threshold()
    with TestClient(app):  # runs the lifespan, as every uvicorn worker does
        assert gc.get_freeze_count() > 0  # the modules and the app at least
        assert gc.get_threshold() == (YOUNG_OBJECTS_A_COLLECTION, *before[1:])
        assert before[0] < YOUNG_OBJECTS_A_COLLECTION
    # given back when the application stops: the process (these tests') goes on
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
