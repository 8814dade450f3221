from sqlalchemy import Index
from sqlmodel import Field, SQLModel

# On SQLite the change counter reads the scopes moved since an audit event by their version
# (app.db.change_counter). PostgreSQL reads none that way, and the index would cost it every
# write: a scope's row updated in place (a HOT update) would have both its indexes updated.
VERSION_INDEX = "ix_scope_version_version"
SQLITE_ONLY_INDEXES = frozenset({VERSION_INDEX})


class ScopeVersion(SQLModel, table=True):
    """The newest audit event id of a write that touched the scope (``app.domain.scopes``)."""

    __tablename__ = "scope_version"
    __table_args__ = (Index(VERSION_INDEX, "version").ddl_if(dialect="sqlite"),)

    scope: str = Field(max_length=80, primary_key=True)
    version: int
