"""docker-compose.yml and the Dockerfile agree with the application.

There is no container engine in the test environment, so the files are parsed
and checked against the code: settings names, ports, health endpoints, the
migration step, the database service, and the shape of the image.
"""

import json
import os
import re
import secrets
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.cli import build_parser
from app.config import Settings
from app.domain.secrets import weakness
from app.local_secret import development_secret
from app.main import create_app

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse docker-compose.yml")

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
HEALTH_PATHS = ("/healthz", "/readyz")


# --- helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def deploy_app(tmp_path_factory: pytest.TempPathFactory):
    """The application, on an empty SQLite file of its own (nothing here needs data)."""
    folder = tmp_path_factory.mktemp("deploy")
    return create_app(Settings(database_url=f"sqlite:///{folder / 'empty.db'}"))


@pytest.fixture(scope="module")
def app_paths(deploy_app) -> set[str]:
    """Every path the app serves: the documented ones and the top-level routes."""
    paths = set(deploy_app.openapi()["paths"])
    paths |= {route.path for route in deploy_app.routes if isinstance(getattr(route, "path", None), str)}
    return paths


@pytest.fixture(scope="module")
def answers(deploy_app):
    """GET a path of the app in-process; the status code."""
    client = TestClient(deploy_app, raise_server_exceptions=False)

    def get(path: str) -> int:
        return client.get(path).status_code

    return get


def _environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict (compose allows a mapping or a KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(value) -> list[str]:
    """A compose/Docker command or test as an argv list (exec form or shell string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(part) for part in value]


def _healthcheck_argv(test) -> list[str]:
    argv = _command(test)
    if argv and argv[0] in ("CMD", "CMD-SHELL"):
        argv = argv[1:]
    return argv


def _depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form: started, nothing more
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def _substitute_defaults(value: str) -> str:
    """``${VAR:-default}`` -> default, ``${VAR:?msg}``/``${VAR}`` -> a placeholder."""

    def replace(match: re.Match) -> str:
        body = match.group(1)
        for separator in (":-", "-"):
            if separator in body:
                return body.split(separator, 1)[1]
        return "Gq7vR2mZ9kLw4xT8bN1cY6pF3sJ0hD5a"  # like a generated secret

    return re.sub(r"\$\{([^}]*)\}", replace, value)


def _api_service(services: dict) -> tuple[str, dict]:
    serving = [(n, s) for n, s in services.items() if _command(s.get("command"))[:2] == ["rectrack", "serve"]]
    assert len(serving) == 1, (
        f"expected one service running 'rectrack serve', found {[n for n, _ in serving]}"
    )
    return serving[0]


def _migrate_service(services: dict) -> tuple[str, dict]:
    migrating = [
        (n, s) for n, s in services.items() if _command(s.get("command"))[:2] == ["rectrack", "migrate"]
    ]
    assert len(migrating) == 1, f"expected one service running 'rectrack migrate', found {migrating}"
    return migrating[0]


def _db_service(services: dict) -> tuple[str, dict]:
    databases = [(n, s) for n, s in services.items() if str(s.get("image", "")).startswith("postgres")]
    assert len(databases) == 1, f"expected one postgres service, found {[n for n, _ in databases]}"
    return databases[0]


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append([])
        assert stages, f"instruction before the first FROM: {line}"
        stages[-1].append((instruction, arguments.strip()))
    return stages


def _exec_form(arguments: str) -> list[str] | None:
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


# --- docker-compose.yml --------------------------------------------------------


def test_every_rectrack_variable_the_compose_file_sets_is_a_setting(services):
    fields = set(Settings.model_fields)
    prefix = Settings.model_config["env_prefix"]
    unknown = {}
    for name, service in services.items():
        for variable in _environment(service):
            if variable.startswith(prefix) and variable[len(prefix) :].lower() not in fields:
                unknown.setdefault(name, []).append(variable)
    assert not unknown, f"RECTRACK_* variables that app.config.Settings does not read: {unknown}"


def test_the_api_environment_is_valid_production_settings(services):
    _, api = _api_service(services)
    env = {k: _substitute_defaults(v) for k, v in _environment(api).items() if k.startswith("RECTRACK_")}
    assert env.get("RECTRACK_ENVIRONMENT") == "production"
    assert "RECTRACK_SECRET_KEY" in env, "production needs RECTRACK_SECRET_KEY"
    settings = Settings(**{k.removeprefix("RECTRACK_").lower(): v for k, v in env.items()})
    assert settings.environment == "production"
    assert settings.host == "0.0.0.0", "in a container the API must listen on every interface"
    assert settings.database_url.startswith("postgresql")
    # The database URL points at the compose database service.
    db_name, _ = _db_service(services)
    assert f"@{db_name}:" in settings.database_url or f"@{db_name}/" in settings.database_url


def test_the_migrate_service_shares_the_api_database_settings(services):
    _, api = _api_service(services)
    _, migrate = _migrate_service(services)
    for variable in ("RECTRACK_DATABASE_URL", "RECTRACK_ENVIRONMENT", "RECTRACK_SECRET_KEY"):
        assert _environment(migrate).get(variable) == _environment(api).get(variable), variable


def test_the_api_port_matches_rectrack_port_and_the_published_port(services):
    _, api = _api_service(services)
    env = _environment(api)
    assert "RECTRACK_PORT" in env
    port = int(env["RECTRACK_PORT"])
    published = []
    for mapping in api.get("ports") or []:
        if isinstance(mapping, dict):  # long syntax
            published.append(int(mapping["target"]))
        else:
            container = str(mapping).split("/")[0].rsplit(":", 1)[-1]
            published.append(int(container))
    assert published, "the API publishes no port"
    assert published == [port] * len(published), f"ports {api['ports']} do not reach RECTRACK_PORT={port}"
    # Its healthcheck asks the same port.
    probe = " ".join(_healthcheck_argv(api["healthcheck"]["test"]))
    assert f":{port}/" in probe, probe


def test_the_healthchecks_hit_health_endpoints_the_app_has(services, app_paths, answers):
    assert set(HEALTH_PATHS) <= app_paths, f"the app has no {set(HEALTH_PATHS) - app_paths}"
    _, api = _api_service(services)
    probe = " ".join(_healthcheck_argv(api["healthcheck"]["test"]))
    hit = [path for path in HEALTH_PATHS if re.search(re.escape(path) + r"\b", probe)]
    assert hit, f"the API healthcheck hits neither {HEALTH_PATHS}: {probe}"
    assert hit[0] in app_paths
    # The route answers (a database-less /readyz answers 503, never 404).
    assert answers(hit[0]) in (200, 503)
    assert answers("/healthz") == 200


def test_the_api_waits_for_a_successful_migration(services):
    api_name, api = _api_service(services)
    migrate_name, migrate = _migrate_service(services)
    db_name, _ = _db_service(services)
    depends = _depends_on(api)
    assert depends.get(migrate_name, {}).get("condition") == "service_completed_successfully", depends
    assert _command(migrate.get("command")) == ["rectrack", "migrate"]
    # The migration is one-shot and itself waits for a healthy database.
    assert str(migrate.get("restart", "no")) == "no"
    assert _depends_on(migrate).get(db_name, {}).get("condition") == "service_healthy"
    # The commands are ones the rectrack CLI really has.
    parser = build_parser()
    parser.parse_args(_command(migrate["command"])[1:])
    parser.parse_args(_command(api["command"])[1:])


def test_the_worker_runs_beside_the_api_on_the_same_database(services):
    _, api = _api_service(services)
    migrate_name, _ = _migrate_service(services)
    workers = [s for s in services.values() if _command(s.get("command")) == ["rectrack", "worker"]]
    assert len(workers) == 1, "docker-compose.yml runs no `rectrack worker`"
    [worker] = workers
    build_parser().parse_args(["worker"])
    for variable in ("RECTRACK_DATABASE_URL", "RECTRACK_ENVIRONMENT", "RECTRACK_SECRET_KEY"):
        # The same secret: the worker decrypts the signing secrets the API encrypted.
        assert _environment(worker).get(variable) == _environment(api).get(variable), variable
    assert _depends_on(worker).get(migrate_name, {}).get("condition") == "service_completed_successfully"
    assert worker.get("healthcheck", {}).get("disable") is True or "test" in worker.get("healthcheck", {})


def _shipped_major(services) -> int:
    _, db = _db_service(services)
    match = re.fullmatch(r"postgres:(\d+)([.\-].*)?", str(db["image"]))
    assert match, f"the database image must pin a major version: {db['image']}"
    return int(match.group(1))


def test_the_database_is_postgres_with_a_named_volume_and_a_healthcheck(compose, services):
    _, db = _db_service(services)
    _shipped_major(services)
    named = set((compose.get("volumes") or {}).keys())
    mounts = []
    for volume in db.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((volume.get("source"), volume.get("target")))
        else:
            source, _, target = str(volume).partition(":")
            mounts.append((source, target.split(":")[0]))
    data = [source for source, target in mounts if target == "/var/lib/postgresql/data"]
    assert data and data[0] in named, f"the data directory is not on a named volume: {mounts}, {named}"
    probe = " ".join(_healthcheck_argv(db["healthcheck"]["test"]))
    assert "pg_isready" in probe, probe


# --- Dockerfile ----------------------------------------------------------------


def test_the_dockerfile_is_multi_stage():
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "expected a build stage and a final stage"
    final = stages[-1]
    copies_from_build = [args for instruction, args in final if instruction == "COPY" and "--from=" in args]
    assert copies_from_build, "the final stage copies nothing from an earlier stage"


def test_the_final_stage_runs_as_a_non_root_user():
    final = _dockerfile_stages()[-1]
    users = [args for instruction, args in final if instruction == "USER"]
    assert users, "the final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users


def test_the_final_stage_has_a_healthcheck_on_a_health_endpoint(app_paths, answers):
    final = _dockerfile_stages()[-1]
    checks = [args for instruction, args in final if instruction == "HEALTHCHECK"]
    assert checks, "the final stage has no HEALTHCHECK"
    check = checks[-1]
    assert not check.upper().startswith("NONE")
    hit = [path for path in HEALTH_PATHS if path in check]
    assert hit and hit[0] in app_paths, check
    assert answers(hit[0]) in (200, 503)


def test_the_final_stage_has_no_build_tools():
    final = _dockerfile_stages()[-1]
    text = " ".join(args for _, args in final)
    for tool in ("build-essential", "gcc", "g++", "make ", "libpq-dev", "python3-dev"):
        assert tool not in text, f"{tool.strip()} in the final stage"


def test_the_final_stage_serves_with_rectrack_serve():
    final = _dockerfile_stages()[-1]
    commands = [args for instruction, args in final if instruction == "CMD"]
    assert commands, "the final stage has no CMD"
    argv = _exec_form(commands[-1]) or shlex.split(commands[-1])
    assert argv[:2] == ["rectrack", "serve"], argv
    assert not [args for instruction, args in final if instruction == "ENTRYPOINT"]
    build_parser().parse_args(argv[1:])


def test_the_image_defaults_are_production_settings_that_listen_everywhere():
    final = _dockerfile_stages()[-1]
    env: dict[str, str] = {}
    for instruction, args in final:
        if instruction == "ENV":
            for token in shlex.split(args):
                if "=" in token:
                    key, value = token.split("=", 1)
                    env[key] = value
    rectrack = {k: v for k, v in env.items() if k.startswith("RECTRACK_")}
    fields = set(Settings.model_fields)
    assert {k.removeprefix("RECTRACK_").lower() for k in rectrack} <= fields, rectrack
    assert rectrack.get("RECTRACK_ENVIRONMENT") == "production"
    assert rectrack.get("RECTRACK_HOST") == "0.0.0.0"
    exposed = [args for instruction, args in final if instruction == "EXPOSE"]
    assert exposed and rectrack.get("RECTRACK_PORT") in " ".join(exposed).split()


# --- settings ------------------------------------------------------------------


def test_production_settings_require_a_secret(monkeypatch):
    monkeypatch.delenv("RECTRACK_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="RECTRACK_SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="RECTRACK_SECRET_KEY"):
        Settings(environment="production", secret_key="too short")
    for weak in ("s" * 32, "ab" * 20, "0123456701234567012345670123456701234567"):
        with pytest.raises(ValidationError, match="generate one"):
            Settings(environment="production", secret_key=weak)
    generated = secrets.token_urlsafe(48)
    assert Settings(environment="production", secret_key=generated).environment == "production"
    assert Settings(environment="production", secret_key=secrets.token_hex(16)).environment == "production"


def test_development_without_a_secret_keeps_a_generated_one_beside_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("RECTRACK_SECRET_KEY", raising=False)
    database = tmp_path / "dev.db"
    first = Settings(environment="development", database_url=f"sqlite:///{database}").key_secret
    kept = tmp_path / "dev.db.secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 32 and weakness(first) is None
    development_secret.cache_clear()  # as a new process would
    assert Settings(environment="development", database_url=f"sqlite:///{database}").key_secret == first


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("RECTRACK_TEST_POSTGRES_URL"), reason="the PostgreSQL pass checks it")
def test_the_tests_run_on_the_postgres_major_version_compose_ships(services):
    """Test what you ship: scripts/with-postgres installs and prefers the compose file's major version."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from app.db.engine import normalise_database_url

    engine = create_engine(normalise_database_url(os.environ["RECTRACK_TEST_POSTGRES_URL"]), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version_num = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    finally:
        engine.dispose()
    assert version_num // 10000 == _shipped_major(services)
