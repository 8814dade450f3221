"""What an operator relies on: /metrics behind a token when one is set, private SQLite files."""

import os
import stat

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db.engine import create_db_engine
from app.main import create_app


def test_metrics_need_the_token_when_one_is_set(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}", metrics_token="scrape-token-1")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == "metrics_token_required"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answered = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-1"})
        assert answered.status_code == 200 and answered.text


def test_metrics_are_open_without_a_token(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 200


def test_sqlite_files_are_readable_by_their_owner_only(tmp_path):
    path = tmp_path / "private.db"
    engine = create_db_engine(Settings(database_url=f"sqlite:///{path}"))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        for file in (path, path.with_name("private.db-wal"), path.with_name("private.db-shm")):
            if file.exists():
                assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file
        assert path.exists()
    finally:
        engine.dispose()
