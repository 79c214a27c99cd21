"""The case repository contract, on SQLite and on PostgreSQL (``case_db_url``): persistence, the
transactional write-back across processes, deletion, Unicode and big texts, list columns, and the
schema migrations (Alembic), including a database made by the old hand-written SQLite layer."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from server.cases.database import sqlite_url
from server.cases.demo import FILES_DIR
from server.cases.extraction import extract
from server.cases.migrate import head_revision
from server.cases.models import AnalysisField, CaseDocument
from server.cases.sql import SqlCaseRepository
from server.errors import ConfigError, Unavailable

# The schema of the hand-written SQLite layer this repository replaced (its PRAGMA user_version 1),
# copied verbatim so a test can build a database exactly as deployed servers have them.
LEGACY_SCHEMA_V1 = """
    CREATE TABLE cases (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        owner_id TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        call_details TEXT NOT NULL,
        call_summary TEXT,
        agent_analysis TEXT,
        final_document_analysis TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cases_owner_number ON cases (owner_id, number);
    CREATE TABLE case_documents (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        file_name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        document_type TEXT NOT NULL,
        extracted_text TEXT NOT NULL,
        text_chars INTEGER NOT NULL,
        page_count INTEGER,
        text_found INTEGER NOT NULL,
        uploaded_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX case_documents_case ON case_documents (case_id, number);
"""


def demo_text(name: str) -> str:
    with open(os.path.join(FILES_DIR, name), "rb") as file:
        return extract(file.read()).text


def document(case_id: str, text: str, name: str = "מסמך.txt") -> CaseDocument:
    return CaseDocument(document_id=str(uuid.uuid4()), case_id=case_id, file_name=name, content_type="text/plain",
                        size_bytes=len(text.encode()), sha256="0" * 64, document_type="general", page_count=None,
                        text_found=bool(text), text_chars=len(text), uploaded_by="alice",
                        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), text=text)


@pytest.mark.gen_test(timeout=30)
async def test_repository_persists_across_reopen(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    await repo.open()
    case = await repo.create_case("alice", "Persisted", {"transcript": "t", "messages": []})
    await repo.aclose()
    again = SqlCaseRepository(case_db_url)
    await again.open()
    assert (await again.get_case(case.case_id)).title == "Persisted"
    await again.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_repository_save_analysis_transform_failure_rolls_back(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    case = await repo.create_case("alice", "t", {})

    def broken(current):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await repo.save_analysis(case.case_id, AnalysisField.CALL_SUMMARY, broken, status="Changed")
    unchanged = await repo.get_case(case.case_id)
    assert unchanged.call_summary is None and unchanged.status == "New"
    saved = await repo.save_analysis(case.case_id, AnalysisField.CALL_SUMMARY, lambda current: {"a": 1})
    assert saved.call_summary == {"a": 1}
    assert await repo.save_analysis(str(uuid.uuid4()), AnalysisField.CALL_SUMMARY, lambda current: {}) is None
    await repo.aclose()
    with pytest.raises(Unavailable):
        await repo.get_case(case.case_id)


@pytest.mark.gen_test(timeout=30)
async def test_repository_deleted_case_takes_documents_and_refuses_writes(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    case = await repo.create_case("alice", "t", {})
    assert await repo.add_document(document(case.case_id, "x")) is not None
    assert await repo.delete_case(case.case_id) is True
    assert await repo.list_documents(case.case_id) == []
    assert await repo.save_analysis(case.case_id, AnalysisField.AGENT_ANALYSIS, lambda current: {}) is None
    assert await repo.add_document(document(case.case_id, "y")) is None
    assert await repo.update_call_details(case.case_id, {"transcript": "", "messages": []}) is None
    assert await repo.delete_case(case.case_id) is False
    await repo.aclose()


@pytest.mark.gen_test(timeout=60)
async def test_repository_unicode_and_big_texts_round_trip_exactly(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    pdf = demo_text("medical_summary_he.pdf")
    docx = demo_text("pay_slip_he.docx")
    assert all(any("\u05d0" <= ch <= "\u05ea" for ch in text) for text in (pdf, docx))  # Hebrew letters
    rare = "שלום עולם \u200f RTL mark, emoji 👩‍⚖️, CJK 漢字, combining é, astral 𝔘, quotes \"'\\"
    big = ("סעיף 17 לחוק הביטוח הלאומי. " * 200_000)[:5_000_000]  # 5 M characters, ~9 MB of UTF-8
    details = {"transcript": rare + "\x00 inside JSON", "messages": [{"role": "user", "content": rare}]}
    case = await repo.create_case("alice", "תיק בדיקה " + rare, details)
    stored = [await repo.add_document(document(case.case_id, text, name)) for text, name in
              ((pdf, "סיכום רפואי.pdf"), (docx, "תלוש.docx"), (big, "big.txt"), (rare, "rare.txt"))]
    got = await repo.get_case(case.case_id)
    assert got.title == "תיק בדיקה " + rare and got.call_details == details
    for original in stored:
        loaded = await repo.get_document(case.case_id, original.document_id)
        assert loaded.text == original.text and loaded.file_name == original.file_name
    assert [d.text for d in await repo.list_documents(case.case_id, with_text=True)] == [pdf, docx, big, rare]
    await repo.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_repository_list_reads_no_transcript_analysis_or_text(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    statements: list[str] = []
    event.listen(repo._engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    with_all = await repo.create_case("alice", "full", {"transcript": "spoken words", "messages": []})
    await repo.save_analysis(with_all.case_id, AnalysisField.CALL_SUMMARY, lambda current: {"s": 1})
    await repo.add_document(document(with_all.case_id, "document text"))
    await repo.create_case("alice", "empty", {"transcript": "   ", "messages": []})
    await repo.create_case("bob", "other", {})
    statements.clear()
    page = await repo.list_cases("alice", None, 10)
    assert [(c.title, c.has_transcript, c.has_call_summary, c.has_agent_analysis, c.document_count)
            for c in page.cases] == [("empty", False, False, False, 0), ("full", True, True, False, 1)]
    listing = " ".join(statements).lower()
    for column in ("call_details", "extracted_text"):
        assert column not in listing
    assert "call_summary is not null" in listing  # the flag is computed in SQL, the value never read
    first = await repo.list_cases(None, None, 2)
    rest = await repo.list_cases(None, first.next_before, 2)
    assert [c.title for c in first.cases + rest.cases] == ["other", "empty", "full"] and rest.next_before is None
    await repo.aclose()


WRITER = """
import asyncio, sys
from server.cases.models import AnalysisField
from server.cases.sql import SqlCaseRepository

async def main(url, case_id, tag, rounds):
    repo = SqlCaseRepository(url)
    for i in range(rounds):
        await repo.save_analysis(case_id, AnalysisField.AGENT_ANALYSIS,
                                 lambda current: {"marks": [*(current or {}).get("marks", []), f"{tag}{i}"]})
    await repo.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


@pytest.mark.gen_test(timeout=120)
async def test_repository_concurrent_writers_in_two_processes_all_land(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    case = await repo.create_case("alice", "t", {})
    rounds = 25
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, case_db_url, case.case_id, tag, str(rounds)],  # noqa: S603
                                stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=100)
        assert writer.returncode == 0, errors[-2000:]
    marks = (await repo.get_case(case.case_id)).agent_analysis["marks"]
    assert sorted(marks) == sorted([f"a{i}" for i in range(rounds)] + [f"b{i}" for i in range(rounds)])
    await repo.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_repository_schema_newer_than_server_refuses_to_open(case_db_url):
    repo = SqlCaseRepository(case_db_url)
    await repo.open()
    await repo.aclose()
    newer = SqlCaseRepository(case_db_url)
    async with newer._engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    await newer.aclose()
    refused = SqlCaseRepository(case_db_url)
    with pytest.raises(ConfigError, match="newer than this server"):
        await refused.open()
    await refused.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_repository_without_migration_refuses_empty_schema_naming_the_command(tmp_path):
    repo = SqlCaseRepository(sqlite_url(str(tmp_path / "empty.db")), migrate_on_open=False)
    with pytest.raises(ConfigError, match="python -m server migrate"):
        await repo.open()
    await repo.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_repository_upgrades_a_legacy_sqlite_database_with_its_data(tmp_path):
    path = str(tmp_path / "legacy.db")
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SCHEMA_V1)
    conn.execute("PRAGMA user_version = 1")
    details = {"transcript": "שיחה עם הלקוח", "messages": [{"role": "user", "content": "שלום"}]}
    conn.execute("INSERT INTO cases (id, owner_id, title, status, call_details, call_summary, created_at, "
                 "updated_at) VALUES (?, 'alice', 'תיק ישן', 'New', ?, ?, ?, ?)",
                 ("11111111-1111-4111-8111-111111111111", json.dumps(details, ensure_ascii=False),
                  json.dumps({"summary": "סיכום"}, ensure_ascii=False), "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"))
    conn.execute("INSERT INTO cases (id, owner_id, title, status, call_details, created_at, updated_at) "
                 "VALUES ('22222222-2222-4222-8222-222222222222', 'alice', 'no call', 'New', "
                 "'{\"transcript\":\"\",\"messages\":[]}', '2025-01-03T00:00:00Z', '2025-01-03T00:00:00Z')")
    conn.execute("INSERT INTO case_documents (id, case_id, file_name, content_type, size_bytes, sha256, "
                 "document_type, extracted_text, text_chars, page_count, text_found, uploaded_by, created_at) "
                 "VALUES ('33333333-3333-4333-8333-333333333333', '11111111-1111-4111-8111-111111111111', "
                 "'תלוש.pdf', 'application/pdf', 10, ?, 'pay_slip', 'שכר ברוטו', 9, 1, 1, 'alice', "
                 "'2025-01-01T00:00:01Z')", ("a" * 64,))
    conn.commit()
    conn.close()

    repo = SqlCaseRepository(sqlite_url(path))
    await repo.open()
    old = await repo.get_case("11111111-1111-4111-8111-111111111111")
    assert old.title == "תיק ישן" and old.call_details == details and old.call_summary == {"summary": "סיכום"}
    assert old.document_count == 1 and old.created_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
    doc = await repo.get_document(old.case_id, "33333333-3333-4333-8333-333333333333")
    assert doc.text == "שכר ברוטו" and doc.text_found is True and doc.page_count == 1
    page = await repo.list_cases("alice", None, 10)
    assert [(c.title, c.has_transcript, c.has_call_summary) for c in page.cases] == [
        ("no call", False, False), ("תיק ישן", True, True)]
    new = await repo.create_case("alice", "after upgrade", {})
    assert new.number == 3  # numbering continues after the old rows
    await repo.aclose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()
