"""``cases.has_transcript`` (so a case list never reads transcripts) and the readiness probe row.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH = 200  # cases read per step of the backfill, so memory stays bounded on big transcripts


def upgrade() -> None:
    """Add and backfill ``has_transcript``; create ``readiness_probe`` with its one row."""
    # A plain ADD COLUMN: SQLite's batch mode would copy and drop ``cases``, and dropping it cascades
    # to every document (foreign keys are on).
    op.add_column("cases", sa.Column("has_transcript", sa.Boolean, nullable=False, server_default=sa.false()))
    _backfill_has_transcript(op.get_bind())
    probe = op.create_table(
        "readiness_probe",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("nonce", sa.Text, nullable=False),
        sa.Column("checked_at", sa.Text, nullable=False),
    )
    op.bulk_insert(probe, [{"id": 1, "nonce": "", "checked_at": ""}])


def _backfill_has_transcript(bind: sa.Connection) -> None:
    cases = sa.table("cases", sa.column("number", sa.Integer), sa.column("call_details", sa.Text),
                     sa.column("has_transcript", sa.Boolean))
    last = -1
    while True:
        rows = bind.execute(sa.select(cases.c.number, cases.c.call_details).where(cases.c.number > last)
                            .order_by(cases.c.number).limit(_BATCH)).all()
        if not rows:
            return
        for number, raw in rows:
            transcript = (json.loads(raw) or {}).get("transcript")
            if isinstance(transcript, str) and transcript.strip():
                bind.execute(sa.update(cases).where(cases.c.number == number).values(has_transcript=True))
        last = rows[-1][0]


def downgrade() -> None:
    """Drop the probe table and the column."""
    op.drop_table("readiness_probe")
    op.execute("ALTER TABLE cases DROP COLUMN has_transcript")  # SQLite >= 3.35 and PostgreSQL
