"""Reminders end to end: `rectrack reminders --as-of` (twice at once, then again), the worker
sending their webhook events to a receiver on 127.0.0.1, and their emails arriving at a real
SMTP server (aiosmtpd) on 127.0.0.1."""

import subprocess
import threading
from collections import Counter
from datetime import date, timedelta
from email import message_from_bytes, policy

import httpx
import pytest
from aiosmtpd.controller import Controller

from app.domain.calendar import get_calendar
from app.domain.webhook_events import REMINDER_EVENT_TYPES
from bench.processes import free_port
from tests.e2e.conftest import (
    HOST,
    ROOT,
    _executable,
    _server_env,
    fresh_live_database,
    prepare_database,
    run_live_server,
)
from tests.e2e.webhook_parts import WORKER_ENV, rectrack, run_receiver, run_worker, verify


class Inbox:
    def __init__(self) -> None:
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname=HOST, port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://{HOST}:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def api(tmp_path_factory, smtp):
    folder = tmp_path_factory.mktemp("reminders")
    env = {**WORKER_ENV, "RECTRACK_SMTP_URL": smtp[1]}
    with fresh_live_database(folder) as url:
        headers = prepare_database(url)
        with run_live_server(url, folder, headers=headers, env=env) as server:
            server.folder, server.env = folder, env
            yield server


def _reminders_at_once(api, as_of: date, copies: int) -> list[int]:
    """Run `rectrack reminders --as-of` ``copies`` times at once; how many each made."""
    processes = [
        subprocess.Popen(
            [_executable("rectrack"), "reminders", "--as-of", as_of.isoformat()],
            cwd=ROOT,
            env=_server_env(api.database_url, api.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(copies)
    ]
    made = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        made.append(int(err.split(" new reminders")[0].split()[-1]))
    return made


def test_reminders_go_out_once_by_webhook_and_by_email(api, smtp):
    inbox, _ = smtp
    client = httpx.Client(base_url=api.url("/api/v1"), headers=api.headers, timeout=30)
    report = client.get("/reports/1").json()
    due = date.fromisoformat(report["action_plan_due_date"])
    calendar = get_calendar(report["calendar"])
    first_overdue = calendar.add_working_days(due, 1)
    recommendation = client.get("/recommendations/1").json()
    owner = recommendation["owners"][0]
    etag = client.get(f"/organisations/{owner['organisation_id']}").headers["etag"]
    patched = client.patch(
        f"/organisations/{owner['organisation_id']}",
        json={"contact_email": "safeguarding@example.org"},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text

    with run_receiver() as receiver:
        endpoint = client.post(
            "/webhooks", json={"url": receiver.url, "event_types": list(REMINDER_EVENT_TYPES)}
        )
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]

        made = _reminders_at_once(api, first_overdue, copies=2)
        assert sum(made) > 0 and 0 in made  # the two at once made them once between them
        assert _reminders_at_once(api, first_overdue, copies=1) == [0]
        expected = sum(made)

        with run_worker(api.database_url, api.folder):
            got = receiver.wait_for(lambda seen: len(seen) >= expected, "every reminder event")
            again = rectrack(api.database_url, "reminders", "--as-of", first_overdue.isoformat(), env=api.env)
            assert again.returncode == 0 and "0 new reminders" in again.stderr
            receiver.wait_for(lambda seen: len(seen) >= expected, "nothing more", timeout=2)

    assert len(got) == expected
    keys = Counter((r.json()["type"], r.json()["data"]["reminder_id"]) for r in got)
    assert max(keys.values()) == 1
    overdue = [r.json() for r in got if r.json()["type"] == "recommendation.overdue"]
    assert {o["data"]["recommendation"]["id"] for o in overdue} >= {1}
    mine = next(
        o
        for o in overdue
        if o["data"]["recommendation"]["id"] == 1 and o["data"]["organisation"]["code"] == owner["code"]
    )
    assert mine["data"]["report"]["slug"] == report["slug"] and mine["data"]["due_date"] == due.isoformat()
    assert mine["data"]["recommendation"]["ref"] == recommendation["ref"]
    for received in got:
        verify(received, secret)

    daily = [m for to, m in inbox.messages if "reminders for" in m["Subject"]]
    assert [to for to, m in inbox.messages] == [["safeguarding@example.org"]]
    assert len(daily) == 1 and owner["code"] in daily[0]["Subject"]
    assert f"Recommendation {recommendation['ref']} " in daily[0].get_content()

    # The next Monday: a digest of what the organisation owns that is overdue or due soon.
    monday = first_overdue + timedelta(days=(7 - first_overdue.weekday()) % 7 or 7)
    result = rectrack(api.database_url, "reminders", "--as-of", monday.isoformat(), env=api.env)
    assert result.returncode == 0, result.stderr
    rectrack(api.database_url, "reminders", "--as-of", monday.isoformat(), env=api.env)
    digests = [m for to, m in inbox.messages if "weekly digest" in m["Subject"]]
    assert len(digests) == 1
    assert f"recommendation {recommendation['ref']} " in digests[0].get_content()
    client.close()
