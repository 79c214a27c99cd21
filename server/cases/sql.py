"""``SqlCaseRepository``: cases and documents on SQLAlchemy 2 asyncio, SQLite (aiosqlite) or
PostgreSQL (asyncpg), behind the ``CaseRepository`` protocol.

Every write is one short transaction. ``save_analysis`` reads, transforms and writes in one
transaction that holds the row: ``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` (the
database write lock, taken before the read) on SQLite, so two processes finishing analyses of the
same case at once both land. Database faults become ``Unavailable`` (503 ``database_unavailable``
with ``Retry-After``); no SQL, parameter or driver message is ever logged or shown, since
parameters carry transcripts and documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection

from server.cases import migrate
from server.cases.database import create_engine, is_unavailable_error, mask_url, sqlite_path
from server.cases.models import DEFAULT_STATUS, AnalysisField, Case, CaseDocument, CasePage, CaseSummary
from server.cases.repository import JsonTransform
from server.cases.schema import case_documents, cases, readiness_probe
from server.clock import iso_utc, utcnow
from server.error_codes import ErrorCode
from server.errors import ConfigError, Gone, Unavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
READINESS_INTERVAL_SECONDS = 5.0  # a readiness write at most this often per process; callers share it

_document_count = (sa.select(sa.func.count()).where(case_documents.c.case_id == cases.c.id)
                   .correlate(cases).scalar_subquery().label("document_count"))
_CASE_COLUMNS = (*cases.c, _document_count)
_SUMMARY_COLUMNS = (
    cases.c.number, cases.c.id, cases.c.owner_id, cases.c.title, cases.c.status, cases.c.has_transcript,
    cases.c.call_summary.is_not(None).label("has_call_summary"),
    cases.c.agent_analysis.is_not(None).label("has_agent_analysis"),
    cases.c.final_document_analysis.is_not(None).label("has_final_document_analysis"),
    cases.c.created_at, cases.c.updated_at, _document_count,
)
_DOCUMENT_COLUMNS = tuple(column for column in case_documents.c if column.name not in ("number", "extracted_text"))


class SqlCaseRepository:
    """The ``CaseRepository`` on SQLAlchemy.

    Args:
        url: SQLAlchemy async URL (``server.cases.database.normalize_url`` makes one from
            ``DATABASE_URL``).
        pool_size: pooled connections (PostgreSQL; as many again may overflow).
        statement_timeout_seconds: PostgreSQL ``statement_timeout``; SQLite's busy timeout.
        migrate_on_open: True (dev, test) migrates the schema at open; False (production) only
            verifies it is current and refuses otherwise.
        readiness_interval_seconds: how often ``ping`` really writes (seconds); calls in between
            get the last answer.
    """

    def __init__(self, url: str, *, pool_size: int = 5, statement_timeout_seconds: float = 30.0,
                 migrate_on_open: bool = True, readiness_interval_seconds: float = READINESS_INTERVAL_SECONDS):
        self._url = url
        self._engine = create_engine(url, pool_size=pool_size, statement_timeout_seconds=statement_timeout_seconds)
        self._migrate_on_open = migrate_on_open
        self._readiness_interval = readiness_interval_seconds
        self._open_lock = asyncio.Lock()
        self._opened = False
        self._closed = False
        self._sqlite_path = sqlite_path(url)
        self._file_identity: tuple[int, int] | None = None
        self._probe: asyncio.Future[bool] | None = None
        self._probe_at = float("-inf")

    @property
    def masked_url(self) -> str:
        """The database URL with its password masked (for logs)."""
        return mask_url(self._url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and migrate (or verify) the schema; idempotent.

        Raises:
            ConfigError: the database cannot be reached (the message names ``DATABASE_URL``,
                masked), or its schema is empty/out of date where migrating is not allowed, or newer
                than this server.
        """
        try:
            await self._ensure_open()
        except ConfigError:
            raise
        except Exception as error:
            if not is_unavailable_error(error):
                raise
            raise ConfigError(f"cannot reach the case database at DATABASE_URL={self.masked_url} "
                              f"({_describe(error)})") from None

    async def _ensure_open(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            if self._sqlite_path is not None:
                os.makedirs(os.path.dirname(os.path.abspath(self._sqlite_path)), exist_ok=True)
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(sqlite_immediate=True)
                async with conn.begin():
                    await conn.run_sync(migrate.upgrade if self._migrate_on_open else migrate.verify)
            self._file_identity = self._stat_file()
            self._opened = True

    async def aclose(self) -> None:
        """Close the pool; later calls raise ``Unavailable`` (``store_closed``)."""
        self._closed = True
        await self._engine.dispose()

    def close(self) -> None:
        """Mark closed without a running loop (for a repository that was never used); use ``aclose``
        to close the connections of one that was."""
        self._closed = True

    # -- plumbing ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction; writes take SQLite's write lock at BEGIN. Database faults become
        ``Unavailable``; other database errors a ``RuntimeError`` that carries no SQL or values."""
        if self._closed:
            raise Unavailable("The case store is closed", code=ErrorCode.STORE_CLOSED, retry_after=RETRY_AFTER_SECONDS)
        try:
            await self._ensure_open()
            async with self._engine.connect() as conn:
                if write:
                    conn = await conn.execution_options(sqlite_immediate=True)
                elif self._engine.dialect.name == "postgresql":
                    # A read is one statement (one snapshot): without BEGIN and ROLLBACK it takes one
                    # round trip instead of three.
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                async with conn.begin():
                    yield conn
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise _translate(error) from None
        except (OSError, asyncio.TimeoutError) as error:
            raise _translate(error) from None

    def _stat_file(self) -> tuple[int, int] | None:
        if self._sqlite_path is None:
            return None
        stat = os.stat(self._sqlite_path)
        return stat.st_dev, stat.st_ino

    # -- readiness -----------------------------------------------------------------------------

    async def ping(self) -> bool:
        """Readiness: True when a write round-trip succeeds (a row rewritten and read back in one
        committed transaction) and, on SQLite, the file is still the one opened and writable.

        Rate-limited: at most one probe per ``readiness_interval_seconds``; concurrent callers
        share the probe in flight. Never raises.
        """
        loop = asyncio.get_running_loop()
        if self._probe is None or (self._probe.done() and loop.time() - self._probe_at >= self._readiness_interval):
            self._probe_at = loop.time()
            self._probe = loop.create_task(self._probe_once())
        return await asyncio.shield(self._probe)

    async def _probe_once(self) -> bool:
        try:
            if not self._file_intact():
                return False
            nonce = secrets.token_hex(8)
            async with self._transaction(write=True) as conn:
                written = await conn.execute(sa.update(readiness_probe).where(readiness_probe.c.id == 1)
                                             .values(nonce=nonce, checked_at=iso_utc(utcnow())))
                read = await conn.scalar(sa.select(readiness_probe.c.nonce).where(readiness_probe.c.id == 1))
            return written.rowcount == 1 and read == nonce
        except Exception as error:
            log.warning("database readiness probe failed error=%s", type(error).__name__)
            return False

    def _file_intact(self) -> bool:
        """SQLite only: the path still names the file that was opened (not deleted or replaced, which
        open connections would not notice) and has a write permission bit (root ignores modes, so
        it is checked here rather than left to the writes)."""
        if self._sqlite_path is None or self._file_identity is None:
            return True
        try:
            stat = os.stat(self._sqlite_path)
        except OSError:
            log.warning("case database file is missing")
            return False
        if (stat.st_dev, stat.st_ino) != self._file_identity:
            log.warning("case database file was replaced since it was opened")
            return False
        if not stat.st_mode & 0o222:
            log.warning("case database file is read-only")
            return False
        return True

    # -- cases ---------------------------------------------------------------------------------

    async def create_case(self, owner_id: str, title: str, call_details: dict[str, Any]) -> Case:
        """Insert a case with status ``New``."""
        case_id = str(uuid.uuid4())
        now = iso_utc(utcnow())
        async with self._transaction(write=True) as conn:
            await conn.execute(sa.insert(cases).values(
                id=case_id, owner_id=_text(owner_id), title=_text(title), status=DEFAULT_STATUS,
                call_details=_dump(call_details), has_transcript=_has_transcript(call_details),
                created_at=now, updated_at=now))
            case = await _fetch_case(conn, case_id)
        assert case is not None  # noqa: S101  # inserted in this transaction
        return case

    async def get_case(self, case_id: str) -> Case | None:
        """The case or None."""
        async with self._transaction() as conn:
            return await _fetch_case(conn, case_id)

    async def list_cases(self, owner_id: str | None, before: str | None, limit: int) -> CasePage:
        """Newest first, keyset-paginated on the creation number; reads only the list's columns."""
        query = sa.select(*_SUMMARY_COLUMNS).order_by(cases.c.number.desc()).limit(limit + 1)
        if owner_id is not None:
            query = query.where(cases.c.owner_id == owner_id)
        async with self._transaction() as conn:
            if before is not None:
                query = query.where(cases.c.number < await self._page_start(conn, owner_id, before))
            rows = (await conn.execute(query)).mappings().all()
        summaries = [_summary(row) for row in rows[:limit]]
        return CasePage(summaries, summaries[-1].case_id if len(rows) > limit else None)

    @staticmethod
    async def _page_start(conn: AsyncConnection, owner_id: str | None, case_id: str) -> int:
        """The creation number of the previous page's last case; ``Gone`` when it was deleted."""
        query = sa.select(cases.c.number).where(cases.c.id == case_id)
        if owner_id is not None:
            query = query.where(cases.c.owner_id == owner_id)
        number = (await conn.execute(query)).scalar()
        if number is None:
            raise Gone("The page cursor's case was deleted; list the cases again", code=ErrorCode.CURSOR_EXPIRED)
        return int(number)

    async def count_cases(self) -> int:
        """Number of cases."""
        async with self._transaction() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(cases)) or 0)

    async def update_call_details(self, case_id: str, call_details: dict[str, Any]) -> Case | None:
        """Replace the call details; None when the case is unknown."""
        async with self._transaction(write=True) as conn:
            result = await conn.execute(sa.update(cases).where(cases.c.id == case_id).values(
                call_details=_dump(call_details), has_transcript=_has_transcript(call_details),
                updated_at=iso_utc(utcnow())))
            return await _fetch_case(conn, case_id) if result.rowcount else None

    async def save_analysis(self, case_id: str, column: AnalysisField, transform: JsonTransform,
                            status: str | None = None) -> Case | None:
        """Read, transform and write one analysis column in one transaction holding the row."""
        target = cases.c[AnalysisField(column).value]  # only the three known columns
        async with self._transaction(write=True) as conn:
            current = (await conn.execute(sa.select(target).where(cases.c.id == case_id).with_for_update())).first()
            if current is None:
                return None
            values: dict[str, Any] = {target.name: _dump(transform(_load(current[0]))),
                                      "updated_at": iso_utc(utcnow())}
            if status is not None:
                values["status"] = status
            await conn.execute(sa.update(cases).where(cases.c.id == case_id).values(**values))
            return await _fetch_case(conn, case_id)

    async def delete_case(self, case_id: str) -> bool:
        """Delete the case; its documents go with it (foreign key cascade)."""
        async with self._transaction(write=True) as conn:
            return bool((await conn.execute(sa.delete(cases).where(cases.c.id == case_id))).rowcount)

    # -- documents -----------------------------------------------------------------------------

    async def add_document(self, document: CaseDocument) -> CaseDocument | None:
        """Insert the document and touch its case (locking the case row); None when the case is gone."""
        async with self._transaction(write=True) as conn:
            touched = await conn.execute(sa.update(cases).where(cases.c.id == document.case_id)
                                         .values(updated_at=iso_utc(utcnow())))
            if not touched.rowcount:
                return None
            await conn.execute(sa.insert(case_documents).values(
                id=document.document_id, case_id=document.case_id, file_name=_text(document.file_name),
                content_type=document.content_type, size_bytes=document.size_bytes, sha256=document.sha256,
                document_type=document.document_type, extracted_text=_text(document.text or ""),
                text_chars=document.text_chars, page_count=document.page_count, text_found=document.text_found,
                uploaded_by=_text(document.uploaded_by), created_at=iso_utc(document.created_at)))
        return document

    async def list_documents(self, case_id: str, *, with_text: bool = False) -> list[CaseDocument]:
        """Documents oldest first; their text only when asked (it can be megabytes each)."""
        columns = (*_DOCUMENT_COLUMNS, case_documents.c.extracted_text) if with_text else _DOCUMENT_COLUMNS
        query = sa.select(*columns).where(case_documents.c.case_id == case_id).order_by(case_documents.c.number)
        async with self._transaction() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_document(row) for row in rows]

    async def get_document(self, case_id: str, document_id: str) -> CaseDocument | None:
        """One document with its text."""
        query = (sa.select(*_DOCUMENT_COLUMNS, case_documents.c.extracted_text)
                 .where(case_documents.c.case_id == case_id, case_documents.c.id == document_id))
        async with self._transaction() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _document(row) if row is not None else None

    async def delete_document(self, case_id: str, document_id: str) -> bool:
        """Delete one document and touch its case."""
        async with self._transaction(write=True) as conn:
            gone = (await conn.execute(sa.delete(case_documents).where(
                case_documents.c.case_id == case_id, case_documents.c.id == document_id))).rowcount > 0
            if gone:
                await conn.execute(sa.update(cases).where(cases.c.id == case_id).values(updated_at=iso_utc(utcnow())))
            return gone


def _translate(error: BaseException) -> Exception:
    """The error a caller sees for a database failure: ``Unavailable`` for faults of the database
    (down, unreachable, locked, read-only, timed out), else a ``RuntimeError`` naming only the
    error class (the driver's message may quote parameter values)."""
    if is_unavailable_error(error):
        log.warning("case database unavailable error=%s", _describe(error))
        return Unavailable("The case database is unavailable; try again shortly", code=ErrorCode.DATABASE_UNAVAILABLE,
                           retry_after=RETRY_AFTER_SECONDS)
    log.error("case database error error=%s", _describe(error))
    return RuntimeError(f"case database error ({_describe(error)})")


def _describe(error: BaseException) -> str:
    """Class names down the cause chain, and an OS error's reason: no message text, which may quote
    SQL parameters."""
    names: list[str] = []
    current: BaseException | None = error
    while current is not None and len(names) < 4:
        reason = f": {current.strerror}" if isinstance(current, OSError) and current.strerror else ""
        names.append(type(current).__name__ + reason)
        current = getattr(current, "orig", None) or current.__cause__
    return " <- ".join(names)


async def _fetch_case(conn: AsyncConnection, case_id: str) -> Case | None:
    row = (await conn.execute(sa.select(*_CASE_COLUMNS).where(cases.c.id == case_id))).mappings().first()
    return _case(row) if row is not None else None


def _case(row: Any) -> Case:
    return Case(
        case_id=row["id"], owner_id=row["owner_id"], title=row["title"], status=row["status"],
        call_details=_load(row["call_details"]) or {}, call_summary=_load(row["call_summary"]),
        agent_analysis=_load(row["agent_analysis"]), final_document_analysis=_load(row["final_document_analysis"]),
        created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]),
        document_count=int(row["document_count"]), number=int(row["number"]),
    )


def _summary(row: Any) -> CaseSummary:
    return CaseSummary(
        case_id=row["id"], owner_id=row["owner_id"], title=row["title"], status=row["status"],
        created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]),
        has_transcript=bool(row["has_transcript"]), has_call_summary=bool(row["has_call_summary"]),
        has_agent_analysis=bool(row["has_agent_analysis"]),
        has_final_document_analysis=bool(row["has_final_document_analysis"]),
        document_count=int(row["document_count"]), number=int(row["number"]),
    )


def _document(row: Any) -> CaseDocument:
    return CaseDocument(
        document_id=row["id"], case_id=row["case_id"], file_name=row["file_name"],
        content_type=row["content_type"], size_bytes=int(row["size_bytes"]), sha256=row["sha256"],
        document_type=row["document_type"], page_count=row["page_count"], text_found=bool(row["text_found"]),
        text_chars=int(row["text_chars"]), uploaded_by=row["uploaded_by"], created_at=_time(row["created_at"]),
        text=row.get("extracted_text"),
    )


def _has_transcript(call_details: dict[str, Any]) -> bool:
    transcript = call_details.get("transcript")
    return isinstance(transcript, str) and bool(transcript.strip())


def _text(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; it becomes U+FFFD on both databases so they agree.
    return value.replace("\x00", "\ufffd")


def _dump(value: Any) -> str:
    # JSON escapes U+0000 itself, so JSON columns keep every character.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


def _time(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))
