"""Alembic environment: the database comes from the config or RECTRACK_DATABASE_URL."""

from alembic import context
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.config import get_settings
from app.db.engine import create_db_engine, normalise_database_url
from app.models.scope_version import SQLITE_ONLY_INDEXES

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    return normalise_database_url(config.get_main_option("sqlalchemy.url") or get_settings().database_url)


def _configure(*, dialect: str, **kwargs) -> None:
    def for_this_dialect(obj, name, type_, _reflected, _compare_to) -> bool:
        return not (type_ == "index" and name in SQLITE_ONLY_INDEXES and dialect != "sqlite")

    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_object=for_this_dialect,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = _database_url()
    dialect = make_url(url).get_backend_name()
    _configure(url=url, dialect=dialect, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection, dialect=connection.dialect.name)
        with context.begin_transaction():
            context.run_migrations()
        return
    settings = get_settings().model_copy(update={"database_url": _database_url()})
    engine = create_db_engine(settings, pooled=False)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations copy tables; foreign keys are checked again below, once.
            # (A PRAGMA inside a transaction is ignored, so this goes to the driver directly.)
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        _configure(connection=connection, dialect=connection.dialect.name)
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migrations left rows with broken foreign keys: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
