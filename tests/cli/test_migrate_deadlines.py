"""Due dates are stored as computed; `rectrack migrate` recomputes them when the operator's extra
non-working days have changed since."""

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

RECTRACK = str(Path(sys.executable).with_name("rectrack"))
CLOSURE = {"2018-05-21": "Local closure"}  # a Monday between receipt (4 May) and the due date


def test_migrate_moves_due_dates_when_extra_days_change(module_database_url):
    env = {**os.environ, "RECTRACK_DATABASE_URL": module_database_url, "RECTRACK_LOG_LEVEL": "warning"}
    env.pop("RECTRACK_EXTRA_NON_WORKING_DAYS", None)
    with_closure = {**env, "RECTRACK_EXTRA_NON_WORKING_DAYS": json.dumps(CLOSURE)}

    def run(env: dict, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([RECTRACK, *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    run(env, "migrate")
    run(env, "seed")
    key = run(env, "keys", "create", "--role", "admin", "--name", "check").stdout.strip()

    def due_dates() -> tuple[str, set[str], list[str]]:
        with TestClient(
            create_app(Settings(database_url=module_database_url)),
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            report = client.get("/api/v1/reports/1").json()
            items = client.get("/api/v1/recommendations", params={"limit": 200}).json()["items"]
            events = client.get("/api/v1/audit-events", params={"limit": 200}).json()["items"]
        following = {i["effective_due_date"] for i in items if i["target_date"] is None}
        return report["action_plan_due_date"], following, [e["action"] for e in events]

    assert due_dates()[:2] == ("2018-06-05", {"2018-06-05"})
    assert "action plan now due" not in run(env, "migrate").stderr  # nothing moved

    moved = run(with_closure, "migrate")
    assert "kirklees-clas-2018: action plan now due 2018-06-06" in moved.stderr
    report_due, following, actions = due_dates()
    assert (report_due, following) == ("2018-06-06", {"2018-06-06"})
    assert actions.count("recompute_deadline") == 1

    assert "action plan now due" not in run(with_closure, "migrate").stderr  # in line now
    assert due_dates()[2].count("recompute_deadline") == 1
