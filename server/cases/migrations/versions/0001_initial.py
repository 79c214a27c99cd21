"""The schema the hand-written SQLite layer created (its ``PRAGMA user_version`` 1).

A database made by that layer is stamped with this revision instead of running it (see
``server.cases.migrate``), then upgraded like any other.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``cases`` and ``case_documents`` with their indexes."""
    op.create_table(
        "cases",
        sa.Column("number", _NUMBER, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("call_details", sa.Text, nullable=False),
        sa.Column("call_summary", sa.Text),
        sa.Column("agent_analysis", sa.Text),
        sa.Column("final_document_analysis", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("cases_owner_number", "cases", ["owner_id", "number"])
    op.create_table(
        "case_documents",
        sa.Column("number", _NUMBER, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("document_type", sa.Text, nullable=False),
        sa.Column("extracted_text", sa.Text, nullable=False),
        sa.Column("text_chars", sa.BigInteger, nullable=False),
        sa.Column("page_count", sa.Integer),
        sa.Column("text_found", sa.Boolean, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("case_documents_case", "case_documents", ["case_id", "number"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("case_documents")
    op.drop_table("cases")
