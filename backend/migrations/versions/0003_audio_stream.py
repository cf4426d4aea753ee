"""audio stream

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audio_encoding", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("audio_sample_rate", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audio_channels", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audio_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("audio_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("current_question_index", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("planned_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_start_offset", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("answer_end_offset", sa.BigInteger(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("planned_questions", schema=None) as batch_op:
        batch_op.drop_column("answer_end_offset")
        batch_op.drop_column("answer_start_offset")

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_column("current_question_index")
        batch_op.drop_column("audio_sha256")
        batch_op.drop_column("audio_bytes")
        batch_op.drop_column("audio_channels")
        batch_op.drop_column("audio_sample_rate")
        batch_op.drop_column("audio_encoding")
