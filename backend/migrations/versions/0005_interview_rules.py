"""interview rules: think and answer limits, takes, extra time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows that exist before this revision get the defaults a new posting gets.
    with op.batch_alter_table("job_postings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("think_seconds", sa.Integer(), nullable=True,
                                      server_default="30"))  # fmt: skip
        batch_op.add_column(
            sa.Column("answer_seconds", sa.Integer(), server_default="180", nullable=False)
        )
        batch_op.add_column(sa.Column("takes", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("question_rules", sa.JSON(), server_default="[]", nullable=False)
        )

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accommodation", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("accommodation_granted_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_interviews_accommodation_granted_by_users",
            "users",
            ["accommodation_granted_by"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("planned_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("think_seconds", sa.Integer(), nullable=True,
                                      server_default="30"))  # fmt: skip
        batch_op.add_column(
            sa.Column("answer_seconds", sa.Integer(), server_default="180", nullable=False)
        )
        batch_op.add_column(sa.Column("takes", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("asked_offset", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("kept_take", sa.Integer(), nullable=True))

    # Interviews under way at the upgrade: where a question was asked is where its answer
    # started (the old meaning of answer_start_offset), so their clocks can run from there.
    op.execute(
        "UPDATE planned_questions SET asked_offset = answer_start_offset "
        "WHERE answer_start_offset IS NOT NULL"
    )

    op.create_table(
        "answer_takes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("take", sa.Integer(), nullable=False),
        sa.Column("start_offset", sa.BigInteger(), nullable=False),
        sa.Column("started_by", sa.String(length=16), nullable=False),
        sa.Column("end_offset", sa.BigInteger(), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["question_id"], ["planned_questions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", "take"),
    )
    op.create_index("ix_answer_takes_question_id", "answer_takes", ["question_id"])


def downgrade() -> None:
    op.drop_index("ix_answer_takes_question_id", table_name="answer_takes")
    op.drop_table("answer_takes")

    with op.batch_alter_table("planned_questions", schema=None) as batch_op:
        for column in ("kept_take", "asked_offset", "takes", "answer_seconds", "think_seconds"):
            batch_op.drop_column(column)

    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_constraint("fk_interviews_accommodation_granted_by_users", type_="foreignkey")
        batch_op.drop_column("accommodation_granted_by")
        batch_op.drop_column("accommodation")

    with op.batch_alter_table("job_postings", schema=None) as batch_op:
        for column in ("question_rules", "takes", "answer_seconds", "think_seconds"):
            batch_op.drop_column(column)
