"""The rectrack command, run as a person would, against a database of its own."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

RECTRACK = str(Path(sys.executable).with_name("rectrack"))


@pytest.fixture(scope="module")
def cli_database(module_database_url):
    """Migrated and seeded once for the module; the tests only read it."""
    env = {**os.environ, "RECTRACK_DATABASE_URL": module_database_url, "RECTRACK_LOG_LEVEL": "warning"}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([RECTRACK, *args], env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("migrate")
    first = run("seed")
    assert "created" in first.stderr
    return run, module_database_url


def test_seed_twice_changes_nothing(cli_database):
    run, _ = cli_database
    assert "nothing changed" in run("seed").stderr


@pytest.mark.parametrize(
    ("args", "expected_refs"),
    [
        (["--as-of", "2018-05-20"], []),
        (["--as-of", "2018-06-06", "--organisation", "SWYPFT"], ["5.1", "6.1"]),
        (["--as-of", "2018-06-06", "--organisation", "nhse", "--report", "kirklees-clas-2018"], ["8.1"]),
    ],
)
def test_overdue_json(cli_database, args, expected_refs):
    run, _ = cli_database
    body = json.loads(run("overdue", *args, "--format", "json").stdout)
    assert [i["ref"] for i in body["items"]] == expected_refs
    assert body["total"] == len(expected_refs)


def test_overdue_agrees_with_the_api(cli_database):
    run, url = cli_database
    as_of = "2018-06-20"
    cli = json.loads(run("overdue", "--as-of", as_of, "--format", "json").stdout)
    key = run("keys", "create", "--role", "viewer", "--name", "dashboard").stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(Settings(database_url=url)), headers=headers) as client:
        api = client.get(
            "/api/v1/recommendations", params={"overdue": "true", "as_of": as_of, "limit": 200}
        ).json()
    assert cli["total"] == api["total"] == 25
    assert sorted(i["ref"] for i in cli["items"]) == sorted(i["ref"] for i in api["items"])
    first = cli["items"][0]
    assert (first["days_overdue"], first["working_days_overdue"], first["due_date"]) == (15, 11, "2018-06-05")


def test_overdue_table_and_csv(cli_database):
    run, _ = cli_database
    table = run("overdue", "--as-of", "2018-06-06", "--organisation", "CHFT").stdout
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["Report", "Ref", "Owners"]
    assert lines[-1] == "4 overdue as of 2018-06-06."
    assert any("SWYPFT, CHFT, MYHT" in line for line in lines)
    rows = list(
        csv.DictReader(io.StringIO(run("overdue", "--as-of", "2018-06-06", "--format", "csv").stdout))
    )
    assert len(rows) == 25 and rows[0]["due_date"] == "2018-06-05" and rows[0]["days_overdue"] == "1"


def test_unknown_report_is_a_clear_error(cli_database):
    run, _ = cli_database
    result = run("overdue", "--report", "nope", check=False)
    assert result.returncode == 2
    assert "No report has the slug 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_date_is_a_usage_error(cli_database):
    run, _ = cli_database
    result = run("overdue", "--as-of", "yesterday", check=False)
    assert result.returncode == 2 and "not a date" in result.stderr
