"""Schemathesis against the in-process application, on a database of its own.

Each role (admin, editor, viewer) gets a new database (a SQLite file, or a
PostgreSQL schema, dropped afterwards), migrated by the real migrations and
seeded with the Kirklees review, and an application built by ``create_app``
exactly as in production: real sessions and commits, no dependency overrides
(which would also make FastAPI re-analyse every dependency on every request).
Only the clock is fixed, to the suite's date. Nothing the fuzzer writes
reaches any other test.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.clock import FixedClock
from app.config import Settings
from app.db.migrations import upgrade
from app.db.sessions import session_scope
from app.domain.access import SYSTEM
from app.domain.status import Role
from app.main import create_app
from app.services import keys
from app.services.webhook_network import literal_addresses_only

from ..conftest import TODAY, fresh_database

ROLES = {
    "admin": None,
    "editor": "MYHT",  # owns several Kirklees recommendations
    "viewer": None,
}


class CurrentApp:
    """The ASGI app Schemathesis calls: the current role's app (lifespan events stop here)."""

    def __init__(self) -> None:
        self.app = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "no contract test is running"
        await self.app(scope, receive, send)


current_app = CurrentApp()


@pytest.fixture(scope="module", params=list(ROLES))
def role(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def contract_database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory, role: str):
    with fresh_database(database_url, tmp_path_factory.mktemp(f"contract-{role}")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module")
def api_key(role: str, contract_database_url: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The id of the key the fuzzer calls with and its Authorization header; the calls go to a
    production app on the role's own database, seeded with Kirklees."""
    from seed.loader import load_seed

    settings = Settings(database_url=contract_database_url)
    clock = FixedClock(at=datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=UTC))
    app = create_app(settings)
    app.state.clock = clock
    # The fuzzer's webhook URLs name hosts anywhere: no DNS query leaves the machine.
    app.state.resolve_host = literal_addresses_only
    with session_scope(app.state.engine) as session:
        load_seed(session, now=clock.now())
        # Decoys first, so that the ids the fuzzer tries first (1, 2, ...) are not its own key.
        for n in range(3):
            keys.create_key(
                session,
                actor=SYSTEM,
                name=f"decoy {n}",
                role=Role.VIEWER,
                organisation_code=None,
                secret=settings.key_secret,
                now=clock.now(),
            )
        api_key, secret = keys.create_key(
            session,
            actor=SYSTEM,
            name=f"schemathesis {role}",
            role=Role(role),
            organisation_code=ROLES[role],
            secret=settings.key_secret,
            now=clock.now(),
        )
        session.commit()
    current_app.app = app
    try:
        yield api_key.id, {"Authorization": f"Bearer {secret}"}
    finally:
        current_app.app = None
        app.state.engine.dispose()
