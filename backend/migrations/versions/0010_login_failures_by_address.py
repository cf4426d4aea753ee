"""login failures by client address: throttling password spraying (one address, many
accounts) as well as guessing (many passwords, one account)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        # 45: the longest textual IPv6 address (IPv4-mapped). Null: failures from before.
        batch_op.add_column(sa.Column("client_address", sa.String(length=45), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_login_failures_client_address"), ["client_address"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_client_address"))
        batch_op.drop_column("client_address")
