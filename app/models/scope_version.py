from sqlmodel import Field, SQLModel


class ScopeVersion(SQLModel, table=True):
    """The newest audit event id of a write that touched the scope (``app.domain.scopes``)."""

    __tablename__ = "scope_version"

    scope: str = Field(max_length=80, primary_key=True)
    version: int
