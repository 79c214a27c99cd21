"""The SQLite repository: schema version, WAL, persistence across reopen, transactional write-back."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from server.cases.models import AnalysisField
from server.cases.sqlite import MIGRATIONS, SqliteCaseRepository
from server.errors import Unavailable


@pytest.mark.gen_test(timeout=10)
async def test_open_creates_schema_in_wal_mode_and_survives_reopen(tmp_path):
    path = str(tmp_path / "nested" / "cases.db")
    repo = SqliteCaseRepository(path)
    await repo.open()
    case = await repo.create_case("alice", "Persisted", {"transcript": "t", "messages": []})
    await repo.aclose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    again = SqliteCaseRepository(path)
    await again.open()
    assert (await again.get_case(case.case_id)).title == "Persisted"
    await again.aclose()


@pytest.mark.gen_test(timeout=10)
async def test_newer_schema_version_refuses_to_open(tmp_path):
    path = str(tmp_path / "cases.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    repo = SqliteCaseRepository(path)
    with pytest.raises(RuntimeError, match="newer than this server"):
        await repo.open()
    await repo.aclose()


@pytest.mark.gen_test(timeout=10)
async def test_save_analysis_transform_failure_rolls_back(tmp_path):
    repo = SqliteCaseRepository(str(tmp_path / "cases.db"))
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
