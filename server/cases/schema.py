"""The case tables as SQLAlchemy Core objects, for the queries of ``server.cases.sql``.

This describes the schema at the newest migration; the migrations in ``server/cases/migrations``
are what create and change it (they never import this module, so old migrations stay fixed).
JSON values (call details, analyses) are stored as text written by ``json.dumps``, which keeps
key order and any Unicode exactly on both databases; times are ISO 8601 UTC text, as before.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite turns only an INTEGER PRIMARY KEY into the row id; PostgreSQL gets a BIGINT identity.
_NUMBER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

cases = sa.Table(
    "cases", metadata,
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
    # Kept with call_details so a case list never reads the transcript (revision 0002).
    sa.Column("has_transcript", sa.Boolean, nullable=False),
    sqlite_autoincrement=True,
)

case_documents = sa.Table(
    "case_documents", metadata,
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

# One row (id 1) that the readiness probe rewrites and reads back (revision 0002).
readiness_probe = sa.Table(
    "readiness_probe", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("nonce", sa.Text, nullable=False),
    sa.Column("checked_at", sa.Text, nullable=False),
)
