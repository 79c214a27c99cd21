"""The case database connection: URL normalisation, masking, the async engine per dialect, and
which driver errors mean "the database is unavailable".

SQLite (aiosqlite) and PostgreSQL (asyncpg) are supported. ``DATABASE_URL`` may use Heroku's
``postgres://`` scheme; it is mapped to ``postgresql+asyncpg://``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.errors import ConfigError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
CONNECT_TIMEOUT_SECONDS = 5.0  # a dead host answers a request with 503 within this, never hangs it
POOL_TIMEOUT_SECONDS = 10.0  # waiting for a free pooled connection
POOL_RECYCLE_SECONDS = 1800  # below the idle cut-off of most managed PostgreSQL proxies

# aiosqlite logs every call with its arguments at DEBUG, and those are transcripts and documents:
# its records must not exist even when LOG_LEVEL=DEBUG.
logging.getLogger("aiosqlite").setLevel(logging.WARNING)

_POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+asyncpg")
_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")


def normalize_url(raw: str) -> str:
    """The SQLAlchemy async URL for a ``DATABASE_URL`` value.

    ``postgres://`` / ``postgresql://`` become ``postgresql+asyncpg://`` (libpq's ``sslmode`` query
    parameter becomes asyncpg's ``ssl``); ``sqlite:///path`` becomes ``sqlite+aiosqlite:///path``.

    Raises:
        ConfigError: another scheme, or a value that is not a URL (the message masks the password).
    """
    try:
        url = make_url(raw.strip())
    except sqlalchemy.exc.ArgumentError:
        raise ConfigError("DATABASE_URL must look like postgres://user:password@host:5432/name or "
                          "sqlite:///path/to/cases.db") from None
    if url.drivername in _POSTGRES_SCHEMES:
        query = dict(url.query)
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        url = url.set(drivername=POSTGRES_DRIVER, query=query)
    elif url.drivername in _SQLITE_SCHEMES:
        url = url.set(drivername=SQLITE_DRIVER)
    else:
        raise ConfigError(f"DATABASE_URL scheme {url.drivername!r} is not supported; use postgres:// "
                          f"(PostgreSQL) or sqlite:/// (SQLite), got {mask_url(raw)}")
    return url.render_as_string(hide_password=False)


def sqlite_url(path: str) -> str:
    """The async SQLAlchemy URL of a SQLite file path (``CASES_DB``)."""
    return URL.create(SQLITE_DRIVER, database=path).render_as_string()


def mask_url(raw: str) -> str:
    """``raw`` with its password replaced by ``***`` (safe to log or print); '<invalid URL>' when it
    does not parse."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "<invalid URL>"


def is_sqlite(url: str) -> bool:
    """True when ``url`` (normalised) names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> str | None:
    """The file path of a SQLite URL; None for PostgreSQL or an in-memory SQLite database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def create_engine(url: str, *, pool_size: int, statement_timeout_seconds: float) -> AsyncEngine:
    """An ``AsyncEngine`` for ``url`` with the settings each dialect needs (no connection is made yet).

    PostgreSQL: a pool of ``pool_size`` (plus as many overflow), ``statement_timeout`` set on every
    session. SQL parameters (case text) are kept out of SQLAlchemy's logs and error messages
    (``hide_parameters``). Disconnects are handled pessimistically (SQLAlchemy's "disconnect handling -
    pessimistic", ``pool_pre_ping``): every checkout first pings its connection, and a dead one (the
    server restarted or failed over) invalidates the pool and is replaced before the request's own
    statement runs, so a PostgreSQL restart costs no request a 503. The ping is one more round trip
    per checkout (bench/README.md: 12.9 ms against 9.0 ms per ``get_case``; a later run on a local
    server, loaded, 0.8-1.6 against 0.7-1.4 ms); a 503 in every process after each restart or Heroku
    maintenance was the worse deal.
    SQLite: WAL, foreign keys, a busy timeout of ``statement_timeout_seconds`` (so another process's
    write makes this one wait instead of failing with "database is locked"), and ``BEGIN IMMEDIATE``
    for transactions opened with the ``sqlite_immediate`` execution option.
    """
    if is_sqlite(url):
        return _sqlite_engine(url, statement_timeout_seconds)
    millis = str(int(statement_timeout_seconds * 1000))
    return create_async_engine(
        url, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size, pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=POOL_RECYCLE_SECONDS, pool_pre_ping=True,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS, "command_timeout": statement_timeout_seconds + 5,
                      "server_settings": {"statement_timeout": millis, "application_name": "case-job-server"}},
    )


def _sqlite_engine(url: str, busy_timeout_seconds: float) -> AsyncEngine:
    path = sqlite_path(url)
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = create_async_engine(url, hide_parameters=True,
                                 connect_args={"timeout": busy_timeout_seconds, "isolation_level": None})

    # pysqlite's own transaction handling is off (isolation_level=None): SQLAlchemy emits BEGIN itself,
    # as its SQLite dialect documentation recommends, so a write transaction can take the lock first.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_unavailable_error(error: BaseException) -> bool:
    """True when ``error`` means the database cannot serve now (down, unreachable, locked, read-only,
    timed out, pool exhausted), as opposed to a bug in a query."""
    if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                          sqlalchemy.exc.TimeoutError, sqlalchemy.exc.DisconnectionError)):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return error.connection_invalidated or _is_postgres_unavailable(error.orig)
    return isinstance(error, (OSError, asyncio.TimeoutError, ConnectionError))


def _is_postgres_unavailable(orig: BaseException | None) -> bool:
    # SQLSTATE classes 08 (connection), 53 (insufficient resources), 57 (operator intervention:
    # shutdown, statement timeout 57014) and 25006 (read-only transaction) mean "try again later".
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return isinstance(state, str) and (state[:2] in ("08", "53", "57") or state == "25006")
