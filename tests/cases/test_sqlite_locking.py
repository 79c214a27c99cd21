"""SQLite shared by several processes: a request waits for another process's write (busy timeout)
instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3

import pytest

from server.cases.database import sqlite_path


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("case_db_url", ["sqlite"], indirect=True)
async def test_sqlite_writer_in_another_process_makes_requests_wait_not_fail(api, settings, io_loop):
    assert (await api.post("/cases", body={"title": "first"})).status == 201
    other = sqlite3.connect(sqlite_path(settings.cases.url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("UPDATE cases SET title = 'held' WHERE title = 'first'")
    io_loop.call_later(1.0, lambda: other.execute("COMMIT"))
    reply = await api.post("/cases", body={"title": "second"})
    other.close()
    assert reply.status == 201, reply.json
    titles = [case["title"] for case in (await api.get("/cases")).json["cases"]]
    assert titles == ["second", "held"]
