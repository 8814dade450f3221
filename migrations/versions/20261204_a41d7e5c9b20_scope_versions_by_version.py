"""SQLite: scope versions read by version, the scopes moved since an audit event

Revision ID: a41d7e5c9b20
Revises: 9f3a6c2e8b14
Create Date: 2026-12-04 06:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'a41d7e5c9b20'
down_revision: str | None = '9f3a6c2e8b14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's only (app.models.scope_version).
INDEX = 'ix_scope_version_version'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index(INDEX, 'scope_version', ['version'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.drop_index(INDEX, table_name='scope_version')
