"""launched sessions: the session tokens proctors launched at each kiosk, so that ending a
seat's session can revoke them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "launched_sessions",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=100), nullable=False),
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_launched_sessions_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_launched_sessions")),
    )
    with op.batch_alter_table("launched_sessions", schema=None) as batch_op:
        for column in ("kiosk_id", "candidate_id", "expires_at"):
            batch_op.create_index(
                batch_op.f(f"ix_launched_sessions_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("launched_sessions", schema=None) as batch_op:
        for column in ("expires_at", "candidate_id", "kiosk_id"):
            batch_op.drop_index(batch_op.f(f"ix_launched_sessions_{column}"))
    op.drop_table("launched_sessions")
