"""``SqliteCaseRepository``: cases and documents in one SQLite file (stdlib ``sqlite3``).

Every database call runs on one dedicated thread (a single-worker executor that owns the
connection), so the IOLoop never blocks on disk and the connection is never shared between
threads. WAL mode lets readers of other processes (backups, ``sqlite3`` shell) work alongside.
The schema is created and migrated at open with ``PRAGMA user_version``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from server.cases.models import DEFAULT_STATUS, AnalysisField, Case, CaseDocument, CasePage
from server.cases.repository import JsonTransform
from server.clock import iso_utc, utcnow
from server.errors import Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Each entry migrates the schema from version i to i + 1; never edit a released entry, append one.
MIGRATIONS: tuple[str, ...] = (
    """
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
    """,
)

_CASE_COLUMNS = ("number, id, owner_id, title, status, call_details, call_summary, agent_analysis, "
                 "final_document_analysis, created_at, updated_at, "
                 "(SELECT COUNT(*) FROM case_documents d WHERE d.case_id = cases.id) AS document_count")
_DOC_COLUMNS = ("id, case_id, file_name, content_type, size_bytes, sha256, document_type, page_count, text_found, "
                "text_chars, uploaded_by, created_at")


class SqliteCaseRepository:
    """The SQLite ``CaseRepository``.

    Args:
        path: database file; its directory is created at open. ``:memory:`` works for experiments.
    """

    def __init__(self, path: str):
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cases-db")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    # -- plumbing ------------------------------------------------------------------------------

    async def _run(self, func: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise Unavailable("The case store is closed", code="store_closed", retry_after=5)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, func)
        except sqlite3.Error:
            log.exception("case store error")
            raise Unavailable("The case store is unavailable; try again shortly", code="store_unavailable",
                              retry_after=5) from None

    def _call(self, func: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            self._conn = self._connect()
        return func(self._conn)

    def _connect(self) -> sqlite3.Connection:
        if self._path != ":memory:":
            directory = os.path.dirname(os.path.abspath(self._path))
            os.makedirs(directory, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn)
        return conn

    async def open(self) -> None:
        """Open the file and migrate the schema now (otherwise the first call does it)."""
        await self._run(lambda conn: None)

    async def aclose(self) -> None:
        """Close the connection on its thread and stop the thread."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=False)

    def close(self) -> None:
        """Synchronous ``aclose`` for code without a running loop (test teardown)."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._close_connection).result()
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- cases ---------------------------------------------------------------------------------

    async def ping(self) -> bool:
        """True when a trivial query answers."""
        try:
            return await self._run(lambda conn: conn.execute("SELECT 1").fetchone()[0] == 1)
        except Unavailable:
            return False

    async def create_case(self, owner_id: str, title: str, call_details: dict[str, Any]) -> Case:
        """Insert a case with status ``New``."""
        case_id = str(uuid.uuid4())
        now = iso_utc(utcnow())

        def insert(conn: sqlite3.Connection) -> Case:
            conn.execute(
                "INSERT INTO cases (id, owner_id, title, status, call_details, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, owner_id, title, DEFAULT_STATUS, _dump(call_details), now, now))
            return _fetch_case(conn, case_id)  # type: ignore[return-value]

        return await self._run(insert)

    async def get_case(self, case_id: str) -> Case | None:
        """The case or None."""
        return await self._run(lambda conn: _fetch_case(conn, case_id))

    async def list_cases(self, owner_id: str | None, before: int | None, limit: int) -> CasePage:
        """Newest first, keyset-paginated on the creation number."""

        def select(conn: sqlite3.Connection) -> CasePage:
            where: list[str] = []
            args: list[object] = []
            if owner_id is not None:
                where.append("owner_id = ?")
                args.append(owner_id)
            if before is not None:
                where.append("number < ?")
                args.append(before)
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            rows = conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases {clause} "  # noqa: S608  # fixed fragments
                                "ORDER BY number DESC LIMIT ?", (*args, limit + 1)).fetchall()
            cases = [_case(row) for row in rows[:limit]]
            return CasePage(cases, cases[-1].number if len(rows) > limit else None)

        return await self._run(select)

    async def count_cases(self) -> int:
        """Number of cases."""
        return await self._run(lambda conn: int(conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]))

    async def update_call_details(self, case_id: str, call_details: dict[str, Any]) -> Case | None:
        """Replace the call details; None when the case is unknown."""

        def update(conn: sqlite3.Connection) -> Case | None:
            cursor = conn.execute("UPDATE cases SET call_details = ?, updated_at = ? WHERE id = ?",
                                  (_dump(call_details), iso_utc(utcnow()), case_id))
            return _fetch_case(conn, case_id) if cursor.rowcount else None

        return await self._run(update)

    async def save_analysis(self, case_id: str, column: AnalysisField, transform: JsonTransform,
                            status: str | None = None) -> Case | None:
        """Read, transform and write one analysis column in a single write transaction."""
        name = AnalysisField(column).value  # only the three known column names reach the SQL

        def write(conn: sqlite3.Connection) -> Case | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(f"SELECT {name} FROM cases WHERE id = ?", (case_id,)).fetchone()  # noqa: S608
                if row is None:
                    conn.execute("ROLLBACK")
                    return None
                value = transform(_load(row[0]))
                sets, args = [f"{name} = ?", "updated_at = ?"], [_dump(value), iso_utc(utcnow())]
                if status is not None:
                    sets.append("status = ?")
                    args.append(status)
                conn.execute(f"UPDATE cases SET {', '.join(sets)} WHERE id = ?", (*args, case_id))  # noqa: S608
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return _fetch_case(conn, case_id)

        return await self._run(write)

    async def delete_case(self, case_id: str) -> bool:
        """Delete the case; its documents go with it (foreign key cascade)."""
        return await self._run(lambda conn: conn.execute("DELETE FROM cases WHERE id = ?", (case_id,)).rowcount > 0)

    # -- documents -----------------------------------------------------------------------------

    async def add_document(self, document: CaseDocument) -> CaseDocument | None:
        """Insert the document and touch its case; None when the case is gone."""

        def insert(conn: sqlite3.Connection) -> CaseDocument | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                touched = conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?",
                                       (iso_utc(utcnow()), document.case_id)).rowcount
                if not touched:
                    conn.execute("ROLLBACK")
                    return None
                conn.execute(
                    f"INSERT INTO case_documents ({_DOC_COLUMNS}, extracted_text) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (document.document_id, document.case_id, document.file_name, document.content_type,
                     document.size_bytes, document.sha256, document.document_type, document.page_count,
                     int(document.text_found), document.text_chars, document.uploaded_by,
                     iso_utc(document.created_at), document.text or ""))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return document

        return await self._run(insert)

    async def list_documents(self, case_id: str, *, with_text: bool = False) -> list[CaseDocument]:
        """Documents oldest first, with their text when asked."""
        columns = f"{_DOC_COLUMNS}, extracted_text" if with_text else _DOC_COLUMNS

        def select(conn: sqlite3.Connection) -> list[CaseDocument]:
            rows = conn.execute(f"SELECT {columns} FROM case_documents WHERE case_id = ? "  # noqa: S608
                                "ORDER BY number", (case_id,)).fetchall()
            return [_document(row) for row in rows]

        return await self._run(select)

    async def get_document(self, case_id: str, document_id: str) -> CaseDocument | None:
        """One document with its text."""

        def select(conn: sqlite3.Connection) -> CaseDocument | None:
            row = conn.execute(f"SELECT {_DOC_COLUMNS}, extracted_text FROM case_documents "  # noqa: S608
                               "WHERE case_id = ? AND id = ?", (case_id, document_id)).fetchone()
            return _document(row) if row is not None else None

        return await self._run(select)

    async def delete_document(self, case_id: str, document_id: str) -> bool:
        """Delete one document and touch its case."""

        def delete(conn: sqlite3.Connection) -> bool:
            gone = conn.execute("DELETE FROM case_documents WHERE case_id = ? AND id = ?",
                                (case_id, document_id)).rowcount > 0
            if gone:
                conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (iso_utc(utcnow()), case_id))
            return gone

        return await self._run(delete)


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(f"case database schema version {version} is newer than this server "
                           f"(knows {len(MIGRATIONS)}); upgrade the server or point CASES_DB elsewhere")
    for index in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[index].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("case database migrated to schema version %d", index + 1)


def _fetch_case(conn: sqlite3.Connection, case_id: str) -> Case | None:
    row = conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()  # noqa: S608
    return _case(row) if row is not None else None


def _case(row: sqlite3.Row) -> Case:
    return Case(
        case_id=row["id"], owner_id=row["owner_id"], title=row["title"], status=row["status"],
        call_details=_load(row["call_details"]) or {}, call_summary=_load(row["call_summary"]),
        agent_analysis=_load(row["agent_analysis"]), final_document_analysis=_load(row["final_document_analysis"]),
        created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]),
        document_count=row["document_count"], number=row["number"],
    )


def _document(row: sqlite3.Row) -> CaseDocument:
    keys = row.keys()
    return CaseDocument(
        document_id=row["id"], case_id=row["case_id"], file_name=row["file_name"],
        content_type=row["content_type"], size_bytes=row["size_bytes"], sha256=row["sha256"],
        document_type=row["document_type"], page_count=row["page_count"], text_found=bool(row["text_found"]),
        text_chars=row["text_chars"], uploaded_by=row["uploaded_by"], created_at=_time(row["created_at"]),
        text=row["extracted_text"] if "extracted_text" in keys else None,
    )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _time(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))
