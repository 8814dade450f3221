"""the current figures' scopes start at the change counter

Revision ID: 9f3a6c2e8b14
Revises: fc46eb7b7cc4
Create Date: 2026-12-02 13:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '9f3a6c2e8b14'
down_revision: str | None = 'fc46eb7b7cc4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Writes until now moved the figures without touching their scope: as new as the newest write,
# so no answer tagged by the figures takes a tag an older state's answer was given.
SCOPES = ("figures", "deadlines")


def upgrade() -> None:
    for scope in SCOPES:
        op.execute(
            "INSERT INTO scope_version (scope, version) "
            f"SELECT '{scope}', coalesce(max(id), 0) FROM audit_event"
        )


def downgrade() -> None:
    op.execute("DELETE FROM scope_version WHERE scope IN ('figures', 'deadlines')")
